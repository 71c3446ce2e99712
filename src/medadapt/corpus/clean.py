"""Text clean-up and length filters, each counting what it removed.

Why each step: clinical exports carry BOMs, zero-width and control characters (invisible, but they become [UNK]
or split words), no-break spaces (U+00A0 in 32 CodiEsp texts) and ragged whitespace; NFC makes "é" one code point
whatever the source, so hashes and vocabularies agree. Paragraph breaks are kept (a blank line stays a blank line)
because sentence and document structure is signal for MLM. Everything is str.translate/regex, so the cost per
character is C-level.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from medadapt.corpus.config import CleanConfig

# Removed outright: BOM / zero-width characters, C0 controls except \t and \n, DEL, C1 controls.
_INVISIBLE = dict.fromkeys([0xFEFF, 0x200B, 0x200C, 0x200D, 0x2060, 0x00AD])
_CONTROLS = dict.fromkeys([*(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)), 0x7F, *range(0x80, 0xA0)])
# Unicode spaces that become a plain space (U+00A0 no-break space first among them).
_SPACES = dict.fromkeys([0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000], " ")
_NEWLINES = {0x2028: "\n", 0x2029: "\n\n"}

# One C-level scan decides whether the (slower, per-character) translate passes are needed at all.
_SPECIAL = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in sorted({**_INVISIBLE, **_CONTROLS, **_SPACES, **_NEWLINES})) + "]"
)
_RUN_OF_SPACES = re.compile(r" {2,}")
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")
_MANY_NEWLINES = re.compile(r"\n{3,}")


@dataclass
class CleanStats:
    """Characters changed per clean-up step and documents removed per length filter."""

    chars: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {"chars_changed": dict(self.chars), "documents_removed": dict(self.removed)}


def clean_text(text: str, *, nfc: bool = True, stats: CleanStats | None = None) -> str:
    """Normalise one text; `stats`, when given, counts characters removed or replaced per step."""
    n0 = len(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    special = _SPECIAL.search(text) is not None
    if special:
        text = text.translate(_NEWLINES)
    n1 = len(text)
    if special:
        text = text.translate(_INVISIBLE)
    n2 = len(text)
    if special:
        text = text.translate(_CONTROLS)
    n3 = len(text)
    if nfc and not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    n4 = len(text)
    if special:
        if stats is not None:
            stats.chars["unicode_spaces_to_space"] += sum(text.count(chr(c)) for c in _SPACES)
        text = text.translate(_SPACES)
    if "  " in text:  # substring tests are memchr-fast; the regex passes only run when they have work
        text = _RUN_OF_SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    if "\n\n\n" in text:
        text = _MANY_NEWLINES.sub("\n\n", text)
    text = text.strip()
    if stats is not None:
        stats.chars["line_breaks_normalised"] += n0 - n1
        stats.chars["bom_zero_width"] += n1 - n2
        stats.chars["control"] += n2 - n3
        stats.chars["nfc_composed"] += n3 - n4
        stats.chars["whitespace_collapsed"] += n4 - len(text)
    return text


def count_words(text: str) -> int:
    """Whitespace-separated words (what length filters and the MinHash shingles count)."""
    return len(text.split())


def length_reason(text: str, cfg: CleanConfig) -> str | None:
    """Why a cleaned text is filtered out (`empty`, `too_short`, `too_long`), or None to keep it."""
    if not text:
        return "empty"
    n = len(text)
    if n < cfg.min_chars:
        return "too_short"
    if cfg.max_chars is not None and n > cfg.max_chars:
        return "too_long"
    if cfg.max_words is not None:
        words = count_words(text)
        if words < cfg.min_words:
            return "too_short"
        if words > cfg.max_words:
            return "too_long"
    elif cfg.min_words and len(text.split(None, cfg.min_words - 1)) < cfg.min_words:
        return "too_short"  # split stops after min_words pieces: no full word count for long notes
    return None
