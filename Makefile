# Two entry points: `make run` (install, fetch models, start the service)
# and `make test` (install everything, then lint, type-check and run every test).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEFAULT_MODELS := vosk-model-small-fr-0.22 fr_FR-siwis-medium

.PHONY: run test install install-test system-deps sandbox lint clean

system-deps:
	./scripts/system-deps.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The Silero VAD network ships in the silero-vad wheel, whose declared dependency (torch)
# it does not need here: onnxruntime runs it. Installed without its dependencies.
SILERO_VAD := silero-vad==6.2.3

install: system-deps $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps $(SILERO_VAD)

install-test: system-deps $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps $(SILERO_VAD)

run: install
	@for model in $(DEFAULT_MODELS); do \
	  $(BIN)/voicebot models path $$model >/dev/null 2>&1 || $(BIN)/voicebot models pull $$model || \
	  echo "Modèle $$model non installé : le service démarre sans lui (voir voicebot doctor)."; \
	done
	$(BIN)/voicebot doctor || true
	$(BIN)/voicebot serve

# The test Asterisk 22 (Debian sid tree, built once and cached under var/): needs root.
sandbox:
	./telephony/sandbox/sandbox.sh build

# A local PostgreSQL for the store tests (each store test runs on SQLite and PostgreSQL).
.PHONY: postgres
postgres:
	./scripts/postgres.sh

lint:
	$(BIN)/ruff check voicebot tests
	$(BIN)/ruff format --check voicebot tests
	$(BIN)/mypy

# Debian Chromium for the console's browser tests (never a downloaded browser).
.PHONY: browser
browser:
	./scripts/browser-deps.sh

test: install-test sandbox postgres browser lint
	$(BIN)/pytest

clean:
	-./telephony/sandbox/sandbox.sh stop
	rm -rf --one-file-system $(VENV) .pytest_cache .mypy_cache .ruff_cache var
