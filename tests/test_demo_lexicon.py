"""The demo vocabulary: large, real, typed, and a missing package lexicon is a clear error."""

from __future__ import annotations

import importlib.util

import pytest

from medadapt.demo import lexicon
from medadapt.demo.lexicon import ENTITY_TYPES, LANGS, load_lexicon
from medadapt.errors import DependencyError


@pytest.mark.parametrize("lang", LANGS)
def test_lexicon_is_large_typed_and_aligned(lang: str) -> None:
    lex = load_lexicon(lang)
    assert set(lex.entities) == set(ENTITY_TYPES)
    assert len(lex.entities["DISEASE"]) > 500  # mostly from the packaged lexica
    assert lex.sources["disease_packaged"] > lex.sources["disease_seed"]
    assert len(lex.entities["DRUG"]) > 80 and len(lex.general_words) >= 4000
    assert len(lex.indicators) >= 10 and lex.heldout
    assert {"HDR_ANAMNESIS", "NEG", "HIST", "FREQ"} <= set(lex.phrases)
    assert {"anamnesis", "indicator_affirm", "indicator_neg", "exclusion", "general"} <= set(lex.templates)


def test_packaged_lexica_are_used() -> None:
    es = {c[0] for c in load_lexicon("es").entities["DISEASE"].concepts}
    nl = {c[0] for c in load_lexicon("nl").entities["DISEASE"].concepts}
    ro = {c[0] for c in load_lexicon("ro").entities["DISEASE"].concepts}
    assert "enfermedad de Adams-Stokes" in es or "síndrome de Adams-Stokes" in es  # deduce eponyms
    assert "hernia inguinal" in es  # cie ICD-10
    assert "bronchitis" in nl  # deduce medical terms, typed by suffix
    assert "faringită" in ro  # derived from ICD-10 Spanish


def test_missing_package_lexicon_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deduce" else real(name, *a))
    lexicon._deduce_lists.cache_clear()
    load_lexicon.cache_clear()
    try:
        with pytest.raises(DependencyError, match="deduce"):
            load_lexicon("nl")
    finally:
        lexicon._deduce_lists.cache_clear()
        load_lexicon.cache_clear()
