"""Split text into sentences so the first audio comes fast.

Synthesis is sentence by sentence; the caller hears the first sentence while
the next is computed. A long first sentence is split once more at a pause
(comma, semicolon, colon) so time to first audio stays short.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_PAUSE = re.compile(r"(?<=[,;:])\s+")
FIRST_PART_MAX_CHARS = 25


def split_sentences(text: str) -> list[str]:
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    if sentences and len(sentences[0]) > FIRST_PART_MAX_CHARS:
        head, *rest = _PAUSE.split(sentences[0], maxsplit=1)
        if rest and len(head) >= 5:
            sentences = [head, rest[0], *sentences[1:]]
    return sentences
