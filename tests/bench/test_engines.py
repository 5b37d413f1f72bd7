"""`voicebot bench engines`: the gain of the fixed prompts' cache, measured."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voicebot.bench.engines import bench_prompts
from voicebot.config import PROJECT_ROOT, load_settings
from voicebot.content import load_content
from voicebot.dialog.render import fixed_prompts
from voicebot.tts.espeak import EspeakSynthesizer

LINE = re.compile(
    r"messages fixes \((\d+) du contenu, (\d+) phrases\) : 1er son médian (\d+) ms rendu, "
    r"([\d.]+) ms en cache .* processeur \(ce processus\) ([\d.]+) s / ([\d.]+) s, "
    r"(\d+)x moins en cache"
)


async def test_the_fixed_prompts_first_audio_rendered_and_from_the_cache(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = load_settings(prompts_dir=PROJECT_ROOT / "prompts")
    await bench_prompts(settings, EspeakSynthesizer("fr"))
    found = LINE.search(capsys.readouterr().out)
    assert found is not None
    prompts, sentences = int(found.group(1)), int(found.group(2))
    assert prompts == len(fixed_prompts(load_content(PROJECT_ROOT / "prompts"))) > 10
    assert sentences >= prompts // 2  # each sentence rendered once, shared ones once
    rendered_ms, cached_ms = int(found.group(3)), float(found.group(4))
    # espeak-ng takes tens of milliseconds a sentence; the cache hands back a buffer.
    assert rendered_ms >= 5 and cached_ms < rendered_ms / 5
    assert float(found.group(5)) > float(found.group(6))


async def test_content_that_cannot_be_read_is_said_not_measured(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = load_settings(prompts_dir=tmp_path)
    await bench_prompts(settings, EspeakSynthesizer("fr"))
    assert "messages fixes : non mesurés" in capsys.readouterr().out
