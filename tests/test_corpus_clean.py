"""Cleaning and length filters: invisible characters go, text and paragraph breaks stay, every change is counted."""

from __future__ import annotations

import unicodedata

from medadapt.corpus.clean import CleanStats, clean_text, count_words, length_reason
from medadapt.corpus.config import CleanConfig


def test_removes_bom_zero_width_and_controls_but_keeps_tabs_and_newlines() -> None:
    stats = CleanStats()
    raw = "\ufeffPaciente\u200b de\x00 45\x85 años\u2060.\tFin\x07"
    assert clean_text(raw, stats=stats) == "Paciente de 45 años.\tFin"
    assert stats.chars["bom_zero_width"] == 3
    assert stats.chars["control"] == 3


def test_nfc_and_unicode_spaces() -> None:
    decomposed = unicodedata.normalize("NFD", "hipertensión   arterial\u00a0grave\u202fy")
    stats = CleanStats()
    out = clean_text(decomposed, stats=stats)
    assert out == "hipertensión arterial grave y"
    assert unicodedata.is_normalized("NFC", out)
    assert stats.chars["nfc_composed"] == 1
    assert stats.chars["unicode_spaces_to_space"] == 2
    assert clean_text(decomposed, nfc=False) != out


def test_paragraph_breaks_kept_and_blank_runs_collapsed() -> None:
    raw = "  Motivo de consulta:  dolor.  \r\n\r\n\r\n\r\nExploración:\r\n  normal.  "
    assert clean_text(raw) == "Motivo de consulta: dolor.\n\nExploración:\nnormal."


def test_plain_ascii_text_is_unchanged() -> None:
    text = "Plain text.\n\nSecond paragraph with\ttab."
    assert clean_text(text) == text


def test_length_filters() -> None:
    cfg = CleanConfig(min_chars=5, max_chars=40, min_words=2, max_words=5)
    assert length_reason("", cfg) == "empty"
    assert length_reason("abc", cfg) == "too_short"
    assert length_reason("oneword", cfg) == "too_short"
    assert length_reason("one two three four five six", cfg) == "too_long"
    assert length_reason("x" * 41, cfg) == "too_long"
    assert length_reason("two words", cfg) is None
    assert count_words(" a  b\nc ") == 3
