"""Encoding: label maps, tags per token, -100 positions, window shapes, inexact entities reported, bad spans refused."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from transformers import PreTrainedTokenizerFast

from medadapt.documents import Document, Span
from medadapt.errors import ConfigError
from medadapt.tasks.ner import IGNORE, EncodeReport, LabelMap, chunk_tags, encode_document, plan_windows
from medadapt.tasks.ner.decoding import decode_document
from medadapt.tasks.ner.tags import ChunkCounts
from medadapt.tasks.windows import tokenize
from tests.tiny import CLINICAL_SENTENCES, metaspace_tokenizer, wordpiece_tokenizer

TEXT = "Paciente con diabetes mellitus e hipertensión arterial. Se inicia metformina 850 mg."


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    return wordpiece_tokenizer(CLINICAL_SENTENCES, vocab_size=120)  # small: long words split into subwords


def _span(text: str, mention: str, label: str) -> Span:
    start = text.index(mention)
    return Span(start, start + len(mention), label)


def test_label_map_orders_ids_like_a_model_config() -> None:
    label_map = LabelMap(("DISO", "CHEM"))
    assert label_map.labels == ("O", "B-CHEM", "I-CHEM", "B-DISO", "I-DISO")
    assert LabelMap.from_id2label({str(k): v for k, v in label_map.id2label.items()}) == label_map
    foreign = {0: "B-CHEM", 1: "B-DISO", 2: "I-CHEM", 3: "I-DISO", 4: "O"}  # run_ner.py's sorted order
    with pytest.raises(ValueError, match="not in medadapt order"):
        LabelMap.from_id2label(foreign)
    same, order = LabelMap.from_foreign_id2label(foreign)
    assert same == label_map and [foreign[i] for i in order] == list(label_map.labels)
    with pytest.raises(ValueError, match="not a complete IOB2 tag set"):
        LabelMap.from_foreign_id2label({0: "O", 1: "B-CHEM"})
    bioes = LabelMap(("X",), "BIOES")
    assert bioes.labels == ("O", "B-X", "I-X", "E-X", "S-X")
    assert bioes.tags_for_run("X", 1) == [4] and bioes.tags_for_run("X", 3) == [1, 2, 3]


@pytest.mark.parametrize("label_all_subwords", [False, True])
def test_tags_follow_the_character_spans(tokenizer: PreTrainedTokenizerFast, label_all_subwords: bool) -> None:
    label_map = LabelMap(("DISO", "CHEM"))
    doc = Document("d", TEXT, spans=[_span(TEXT, "diabetes mellitus", "DISO"), _span(TEXT, "metformina", "CHEM")])
    (window,) = encode_document(doc, tokenizer, label_map, label_all_subwords=label_all_subwords)
    assert window.input_ids[0] == tokenizer.cls_token_id and window.input_ids[-1] == tokenizer.sep_token_id
    assert window.labels[0] == window.labels[-1] == IGNORE and window.word_ids[0] is None
    tags = {}
    for (a, b), label, word in zip(window.offsets[1:-1], window.labels[1:-1], window.word_ids[1:-1], strict=True):
        tags.setdefault(word, []).append((TEXT[a:b], label_map.labels[label] if label != IGNORE else None))
    words = [tags[w] for w in sorted(tags)]

    def word_text(pieces: list) -> str:
        return "".join(p for p, _ in pieces)

    assert (word_text(words[2]), words[2][0][1]) == ("diabetes", "B-DISO")
    assert (word_text(words[3]), words[3][0][1]) == ("mellitus", "I-DISO")
    metformina = next(w for w in words if word_text(w) == "metformina")
    assert len(metformina) > 1  # split into subwords by the small vocabulary
    expected = ["B-CHEM"] + ["I-CHEM" if label_all_subwords else None] * (len(metformina) - 1)
    assert [t for _, t in metformina] == expected
    assert all(t == "O" for w in words if w[0][0] in ("Paciente", "con", ".") for _, t in w[:1])


def test_sentencepiece_words_split_at_punctuation_so_entities_stay_exact() -> None:
    """A whitespace-only pre-tokenizer makes "(HbA1c)," one word: tagged on its first subword, "HbA1c" could only
    come back as the whole word, and "SOM"/"SOD" in "SOM/SOD" would share one tag (one of them lost)."""
    text = "Control de (HbA1c), SOM/SOD y FIV/ICSI. Sin cambios en HbA1c."
    tokenizer = metaspace_tokenizer([text, *CLINICAL_SENTENCES], vocab_size=120)
    raw = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    first_word = [text[a:b] for (a, b), w in zip(raw["offset_mapping"], raw.word_ids(), strict=True) if w == 2]
    assert "".join(first_word).strip() == "(HbA1c),"  # the tokenizer's own word: the case this guards
    spans = [_span(text, "HbA1c", "PROC"), _span(text, "SOM", "DISO"), _span(text, "SOD", "DISO")]
    spans += [
        _span(text, "FIV", "PROC"),
        _span(text, "ICSI", "PROC"),
        Span(text.rindex("HbA1c"), len(text) - 1, "PROC"),
    ]
    doc = Document("d", text, spans=sorted(spans))
    label_map = LabelMap(("DISO", "PROC"))
    report = EncodeReport()
    windows = encode_document(doc, tokenizer, label_map, max_length=16, stride=4, report=report)
    assert len(windows) > 1 and not report.not_aligned and report.aligned == len(spans)
    logits = [np.eye(label_map.num_labels)[[max(t, 0) for t in w.labels]] * 10 for w in windows]
    assert sorted(decode_document(doc, windows, logits, label_map).spans) == doc.spans
    words = tokenize(text, tokenizer).word_ids
    assert words == sorted(words) and len(set(words)) > len(set(raw.word_ids()))


def test_windows_have_max_length_and_overlap_by_at_least_stride(tokenizer: PreTrainedTokenizerFast) -> None:
    doc = Document("long", " ".join(CLINICAL_SENTENCES * 6))
    report = EncodeReport()
    windows = encode_document(doc, tokenizer, LabelMap(("X",)), max_length=24, stride=6, report=report)
    assert len(windows) > 5 and report.windows == len(windows)
    assert all(len(w.input_ids) == len(w.labels) == len(w.offsets) <= 24 for w in windows)
    assert windows[0].token_start == 0 and windows[-1].token_end == report.tokens
    for left, right in itertools.pairwise(windows):
        assert left.token_start < right.token_start and left.token_end - right.token_start >= 6
        assert right.word_ids[1] != left.word_ids[right.token_start - left.token_start]  # starts on a word start


def test_sentence_boundaries_snap_window_starts(tokenizer: PreTrainedTokenizerFast) -> None:
    doc = Document("long", "\n".join(CLINICAL_SENTENCES * 6))
    windows = encode_document(doc, tokenizer, LabelMap(("X",)), max_length=64, stride=8, sentence_boundaries=True)
    line_starts = {0} | {i + 1 for i, c in enumerate(doc.text) if c == "\n"}  # sentences are <= 24 tokens here
    assert len(windows) > 3
    assert all(w.offsets[1][0] in line_starts for w in windows)


def test_plan_windows_validates_and_covers_everything() -> None:
    assert plan_windows(5, 10, 3) == [(0, 5)]
    assert plan_windows(10, 4, 1) == [(0, 4), (3, 7), (6, 10)]
    with pytest.raises(ValueError, match="stride"):
        plan_windows(10, 4, 4)


def test_inexact_entities_are_expanded_or_reported_lost(tokenizer: PreTrainedTokenizerFast) -> None:
    text = "Paciente con diabetes  mellitus e hipertensión arterial."
    spans = [
        Span(text.index("abetes"), text.index("abetes") + 6, "DISO"),  # boundary inside "diabetes" → expanded
        Span(text.index("  mellitus"), text.index("mellitus") + 8, "DISO"),  # starts on whitespace → shrunk
        Span(text.index("hiper"), text.index("hiper") + 5, "DISO"),  # inside "hipertensión" → expanded
        Span(text.index("tensión"), text.index("tensión") + 7, "DISO"),  # same word as the previous → lost
    ]
    report = EncodeReport()
    encode_document(Document("d", text, spans=spans), tokenizer, LabelMap(("DISO",)), report=report)
    got = [(x.reason, None if x.recovered is None else text[x.recovered.start : x.recovered.end])
           for x in report.not_aligned]  # fmt: skip
    assert got == [
        ("expanded", "diabetes"),
        ("shrunk", "mellitus"),
        ("expanded", "hipertensión"),
        ("shared-token", None),
    ]
    assert report.entities == 4 and report.aligned == 0 and report.lost == 1


def test_spans_the_tags_cannot_hold_are_refused(tokenizer: PreTrainedTokenizerFast) -> None:
    label_map = LabelMap(("DISO",))
    overlapping = Document("d", TEXT, spans=[Span(0, 8, "DISO"), Span(4, 12, "DISO")])
    with pytest.raises(ConfigError, match="overlap"):
        encode_document(overlapping, tokenizer, label_map)
    broken = Document("d", TEXT, spans=[Span(0, 20, "DISO", ((0, 8), (13, 20)))])
    with pytest.raises(ConfigError, match="discontinuous"):
        encode_document(broken, tokenizer, label_map)
    with pytest.raises(ConfigError, match="not in the label map"):
        encode_document(Document("d", TEXT, spans=[Span(0, 8, "CHEM")]), tokenizer, label_map)


@pytest.mark.parametrize(
    ("tags", "repair", "chunks", "fixed"),
    [
        (["O", "I-A", "I-A", "O", "B-A", "I-B"], "conlleval", [(1, 3, "A"), (4, 5, "A"), (5, 6, "B")], 2),
        (["O", "I-A", "I-A", "O", "B-A", "I-B"], "drop", [(4, 5, "A")], 3),
        (["B-A", "B-A", "I-A", "O"], "conlleval", [(0, 1, "A"), (1, 3, "A")], 0),
        (["S-A", "B-A", "I-A", "E-A", "E-B", "O"], "conlleval", [(0, 1, "A"), (1, 4, "A"), (4, 5, "B")], 1),
        (["B-A", "I-A"], "conlleval", [(0, 2, "A")], 0),  # an unclosed BIOES entity still ends at the sequence end
    ],
)
def test_chunking_repairs_invalid_sequences(tags: list[str], repair: str, chunks: list, fixed: int) -> None:
    counts = ChunkCounts()
    assert chunk_tags(tags, repair, counts) == chunks
    assert (counts.repaired if repair == "conlleval" else counts.dropped) == fixed
