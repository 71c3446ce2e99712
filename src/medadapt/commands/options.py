"""Choice types shared by several commands, so `--format` means the same everywhere."""

from __future__ import annotations

from enum import StrEnum


class NerFormat(StrEnum):
    """Annotated-document formats of the NER commands (`auto`: from the file extension)."""

    auto = "auto"
    brat = "brat"
    conll = "conll"
    jsonl = "jsonl"
