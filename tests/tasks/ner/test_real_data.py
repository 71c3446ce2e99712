"""Real corpora, read in place, through the real mBERT cased WordPiece vocabulary: CT-EBM-SP (es, BRAT, overlaps
and discontinuous spans) and MoNERo (ro, CoNLL). Encode in 128-token windows, decode gold one-hot logits, and
get back exactly the resolved gold spans — except the counted entities whose boundary falls inside a word, which
must come back expanded to the word. Numbers are printed (pytest -s) and pinned, so a change shows up.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from transformers import BertTokenizerFast, PreTrainedTokenizerBase

from medadapt.documents import Document, Span
from medadapt.io import read_documents
from medadapt.tasks.ner import (
    CT_EBM_SP_TO_UMLS,
    DecodeReport,
    EncodeReport,
    LabelMap,
    SpanPolicyReport,
    Window,
    decode_document,
    encode_document,
    map_labels,
    resolve_document,
)

MAX_LENGTH, STRIDE = 128, 32


@pytest.fixture(scope="module")
def mbert(shared_data: Path) -> PreTrainedTokenizerBase:
    # transformers 5 takes the vocab file path (or a {token: id} dict) directly
    return BertTokenizerFast(vocab=str(shared_data / "vocab/mbert-cased-vocab.txt"), do_lower_case=False)


def _gold_logits(windows: list[Window], num_labels: int) -> list[np.ndarray]:
    return [np.eye(num_labels)[[max(label, 0) for label in w.labels]] * 10 for w in windows]


def _round_trip(
    docs: list[Document], tokenizer: PreTrainedTokenizerBase, label_map: LabelMap, **options: object
) -> tuple[EncodeReport, DecodeReport, int]:
    """Encode + decode every document; return the reports and the number of documents not reproduced exactly."""
    encode_report, decode_report, mismatches = EncodeReport(), DecodeReport(), 0
    for doc in docs:
        seen = len(encode_report.not_aligned)
        windows = encode_document(doc, tokenizer, label_map, MAX_LENGTH, STRIDE, report=encode_report, **options)
        assert all(len(w.input_ids) <= MAX_LENGTH for w in windows)
        decoded = decode_document(doc, windows, _gold_logits(windows, label_map.num_labels), label_map,
                                  report=decode_report)  # fmt: skip
        expected: set[Span] = set(doc.spans)
        for item in encode_report.not_aligned[seen:]:
            expected.discard(item.gold)
            if item.recovered is not None:
                expected.add(item.recovered)
        mismatches += {(s.start, s.end, s.label) for s in decoded.spans} != {
            (s.start, s.end, s.label) for s in expected
        }
        mismatches += len(decoded.spans) != len(expected)
    return encode_report, decode_report, mismatches


@pytest.fixture(scope="module")
def ct_ebm_sp(shared_data: Path) -> tuple[list[Document], SpanPolicyReport]:
    folder = shared_data / "es/ct-ebm-sp/brat"
    docs = list(read_documents([folder / "train", folder / "dev"], "brat", lang="es"))
    report = SpanPolicyReport()
    return [resolve_document(d, "longest", discontinuous="cover", report=report) for d in docs], report


def test_ct_ebm_sp_all_types_round_trip(ct_ebm_sp: tuple[list[Document], SpanPolicyReport], mbert) -> None:
    docs, policy = ct_ebm_sp
    print(f"\nCT-EBM-SP train+dev, policy longest/cover: {policy.summary()}")
    assert len(docs) == 960 and policy.spans_in == 51_736 + 17_683
    assert policy.discontinuous_converted == 317 + 122 and policy.dropped > 0
    assert policy.spans_kept == sum(len(d.spans) for d in docs)
    label_map = LabelMap.from_documents(docs)
    assert len(label_map.types) == 23

    for label_all_subwords, expected_not_aligned in ((False, 65), (True, 0)):
        encoded, decoded, mismatches = _round_trip(docs, mbert, label_map, label_all_subwords=label_all_subwords)
        print(f"label_all_subwords={label_all_subwords}: {encoded.summary()}")
        assert mismatches == 0 and encoded.lost == 0
        assert encoded.entities == policy.spans_kept == decoded.spans
        assert encoded.windows > len(docs)  # most documents are longer than one 128-token window
        # Word-level tags cannot end inside a word: "Combigan®" (® is not split off by BERT) is tagged whole.
        assert len(encoded.not_aligned) == expected_not_aligned
        assert {item.reason for item in encoded.not_aligned} <= {"expanded"}


def test_ct_ebm_sp_mapped_to_umls_groups(ct_ebm_sp: tuple[list[Document], SpanPolicyReport], mbert) -> None:
    docs, _ = ct_ebm_sp
    mapped = [map_labels(d, CT_EBM_SP_TO_UMLS) for d in docs[:200]]
    label_map = LabelMap.from_documents(mapped)
    assert label_map.types == ("ANAT", "CHEM", "DISO", "PROC")
    encoded, _, mismatches = _round_trip(mapped, mbert, label_map, sentence_boundaries=True)
    print(f"\nCT-EBM-SP 200 docs, UMLS groups, sentence-snapped windows: {encoded.summary()}")
    assert mismatches == 0 and encoded.lost == 0


def test_monero_round_trip(shared_data: Path, mbert) -> None:
    (doc,) = read_documents([shared_data / "ro/monero/MoNERo.txt"], "conll", label_column=2, lang="ro")
    label_map = LabelMap.from_documents([doc])
    assert Counter(s.label for s in doc.spans) == {"DISO": 6_835, "CHEM": 4_225, "ANAT": 2_031, "PROC": 1_451}
    for sentence_boundaries in (False, True):
        encoded, decoded, mismatches = _round_trip([doc], mbert, label_map, sentence_boundaries=sentence_boundaries)
        print(f"\nMoNERo, sentence_boundaries={sentence_boundaries}: {encoded.summary()}")
        assert mismatches == 0 and encoded.entities == decoded.spans == 14_542
        assert not encoded.not_aligned  # CoNLL tokens are whitespace-separated: every entity is token-aligned
        assert encoded.windows > 2_500 and encoded.normalized["\u00a0"] == 84  # NBSP inside MoNERo tokens
