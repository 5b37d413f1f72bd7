"""Fixtures of the console tests: the console over a fresh SQLite store, and an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.console.harness import Console, accounts_database, build_console


@pytest.fixture(scope="session")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return accounts_database(tmp_path_factory.mktemp("accounts"))


@pytest.fixture
def console(tmp_path: Path, accounts: Path) -> Iterator[Console]:
    built = build_console(tmp_path, accounts)
    yield built
    built.store.close()


@pytest.fixture
def client(console: Console) -> Iterator[TestClient]:
    with TestClient(console.app) as test_client:
        yield test_client
