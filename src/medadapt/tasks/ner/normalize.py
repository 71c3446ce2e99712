"""Offset-preserving text normalisation for the tokenizer's eyes only.

Romanian text mixes s/t with cedilla (ş ţ, U+015F/U+0163, legacy encodings) and with comma below (ș ț,
U+0219/U+021B, the correct forms); a WordPiece vocabulary holds both, so the same word tokenizes two ways and the
model sees two words. Unifying them helps — but must not move any offset, or gold spans and predictions no longer
point at the original text. So every rule here replaces ONE code point by ONE code point: the normalised text
has the same length, the tokenizer's offsets index the original text unchanged, and predictions are decoded
against the original document (which is never modified).

Tables are plain data, per language (`"*"` applies to every language), so a project can add or flip a rule
(e.g. map to cedilla forms for a model whose vocabulary prefers them) without code. Comma-below is the default
target because it is the standard orthography and what MoNERo uses.
"""

from __future__ import annotations

from collections import Counter

UNIVERSAL = "*"

TABLES: dict[str, dict[str, str]] = {
    UNIVERSAL: {
        "\u00a0": " ",  # no-break space
        "\u2007": " ",  # figure space
        "\u202f": " ",  # narrow no-break space
        "\u2009": " ",  # thin space
        "\u2011": "-",  # non-breaking hyphen
    },
    "ro": {
        "\u015f": "\u0219",  # ş -> ș
        "\u015e": "\u0218",  # Ş -> Ș
        "\u0163": "\u021b",  # ţ -> ț
        "\u0162": "\u021a",  # Ţ -> Ț
    },
}


def _base_lang(lang: str | None) -> str | None:
    return lang.replace("_", "-").split("-")[0].lower() if lang else None


def replacement_table(lang: str | None, tables: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """The single-character rules that apply to `lang` ("ro", "ro-RO", None = universal rules only)."""
    tables = TABLES if tables is None else tables
    table = dict(tables.get(UNIVERSAL, {}))
    table.update(tables.get(_base_lang(lang) or "", {}))
    for old, new in table.items():
        if len(old) != 1 or len(new) != 1:
            raise ValueError(f"normalisation rule {old!r} -> {new!r} must replace one character by one character")
    return table


def normalize_text(
    text: str, lang: str | None = None, *, tables: dict[str, dict[str, str]] | None = None
) -> tuple[str, Counter[str]]:
    """Return the text to feed the tokenizer (same length as `text`) and how often each rule fired.

    The counts are keyed by the original character, e.g. {"ş": 12, "\\xa0": 3}, so a report can say what changed.
    """
    table = replacement_table(lang, tables)
    counts: Counter[str] = Counter({old: n for old in table if (n := text.count(old))})
    if not counts:
        return text, counts
    out = text.translate(str.maketrans(table))
    assert len(out) == len(text)  # guaranteed by the one-to-one rules; offsets must not move
    return out, counts
