"""Offset-preserving normalisation: Romanian cedilla/comma-below unified for the tokenizer, offsets untouched."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import PreTrainedTokenizerFast

from medadapt.documents import Document, Span
from medadapt.tasks.ner import EncodeReport, LabelMap, decode_document, encode_document, normalize_text
from medadapt.tasks.ner.normalize import replacement_table
from tests.tiny import wordpiece_tokenizer

COMMA = "Pacientul are țesut afectat și țesut sănătos; Șef de secție, Țara."
CEDILLA = COMMA.translate(str.maketrans("șțȘȚ", "şţŞŢ"))


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    return wordpiece_tokenizer([COMMA] * 5, vocab_size=120)  # trained on comma-below text only


def test_cedilla_forms_become_comma_below_one_for_one() -> None:
    out, counts = normalize_text(CEDILLA + "\u00a0x", "ro")
    assert out == COMMA + " x" and len(out) == len(CEDILLA) + 2
    assert counts == {"ş": 1, "ţ": 3, "Ş": 1, "Ţ": 1, "\u00a0": 1}
    assert normalize_text(CEDILLA, "ro-RO")[0] == COMMA  # region subtags use the language's table
    assert normalize_text(CEDILLA, "es")[0] == CEDILLA  # only universal rules for other languages
    assert normalize_text(COMMA, "ro") == (COMMA, {})


def test_rules_must_be_one_character_for_one() -> None:
    with pytest.raises(ValueError, match="one character by one"):
        replacement_table("xx", {"xx": {"ß": "ss"}})


def test_normalisation_changes_tokenization_but_not_offsets(tokenizer: PreTrainedTokenizerFast) -> None:
    start = CEDILLA.index("ţesut afectat")
    span = Span(start, start + len("ţesut afectat"), "ANAT")
    label_map = LabelMap(("ANAT",))
    cedilla = Document("c", CEDILLA, lang="ro", spans=[span])
    comma = Document("m", COMMA, lang="ro", spans=[span])
    report = EncodeReport()
    (norm,) = encode_document(cedilla, tokenizer, label_map, report=report)
    (raw,) = encode_document(cedilla, tokenizer, label_map, normalize=False)
    (ref,) = encode_document(comma, tokenizer, label_map)
    assert norm.input_ids == ref.input_ids != raw.input_ids  # the cedilla forms are unknown to this vocabulary
    assert norm.offsets == ref.offsets and norm.labels == ref.labels
    assert report.normalized == {"ş": 1, "ţ": 3, "Ş": 1, "Ţ": 1} and report.aligned == 1
    logits = np.eye(label_map.num_labels)[[max(label, 0) for label in norm.labels]]
    decoded = decode_document(cedilla, [norm], [logits], label_map)
    assert decoded.text == CEDILLA  # predictions index the original text
    assert [(s.start, s.end, s.label) for s in decoded.spans] == [(span.start, span.end, "ANAT")]
    assert decoded.span_text(decoded.spans[0]) == "ţesut afectat"
