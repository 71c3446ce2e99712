"""Round trip encode → gold one-hot logits → decode on long synthetic documents built so that an entity straddles
EVERY window cut, for several (max_length, stride) pairs: no entity may be lost, cut or duplicated.

The logits are gold only where the decoder must look (the owning window, the first subword); everywhere else they
are random, so the test also pins down which prediction the decoder uses.
"""

from __future__ import annotations

import bisect
import random

import numpy as np
import pytest
from transformers import PreTrainedTokenizerFast

from medadapt.documents import Document, Span
from medadapt.tasks.ner import IGNORE, DecodeReport, EncodeReport, LabelMap, Window, decode_document, encode_document
from tests.tiny import wordpiece_tokenizer

SYLLABLES = ["ca", "di", "ab", "te", "men", "ro", "lu", "sa", "tor", "ex", "pa", "ni", "que", "vo", "ña", "ță"]
TYPES = ("ANAT", "CHEM", "DISO")
COMBOS = [(16, 0), (16, 5), (24, 8), (32, 15), (48, 20), (64, 40)]


def _make_text(seed: int = 7, n_words: int = 420) -> tuple[str, list[tuple[int, int]]]:
    rng = random.Random(seed)
    parts, words, pos = [], [], 0
    for i in range(n_words):
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.1:
            word = word.capitalize()
        sep = "" if i == 0 else rng.choice([" "] * 12 + ["  ", "\u00a0", ". ", ", ", "\n"])
        parts.append(sep + word)
        pos += len(sep)
        words.append((pos, pos + len(word)))
        pos += len(word)
    return "".join(parts), words  # ends with a word: every punctuation token has a word after it


TEXT, WORDS = _make_text()
WORD_STARTS = [a for a, _ in WORDS]


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    return wordpiece_tokenizer([TEXT], vocab_size=90)  # small vocabulary: most words are 2-4 subwords


def _cuts(windows: list[Window]) -> set[int]:
    """Document token indices b such that a window edge falls between tokens b-1 and b."""
    return {w.token_start for w in windows[1:]} | {w.token_end for w in windows[:-1]}


def _doc_offsets(windows: list[Window]) -> list[tuple[int, int]]:
    n = windows[-1].token_end
    offsets = [(0, 0)] * n
    for w in windows:
        offsets[w.token_start : w.token_end] = w.offsets[
            w.content_start : w.content_start + w.token_end - w.token_start
        ]
    return offsets


def _words_around(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """First and last word (inclusive) of an entity holding the tokens at char offsets a and b (a before b)."""
    lo = bisect.bisect_right(WORD_STARTS, a[0]) - 1
    hi = bisect.bisect_right(WORD_STARTS, b[0]) - 1
    if b[0] >= WORDS[hi][1]:  # token b is punctuation after word hi: take the next word too
        hi += 1
    return lo, hi


def _straddling_doc(windows: list[Window], capacity: int) -> Document:
    """Entities (whole words) around every cut, plus one longer than a window, overlapping ones merged."""
    offsets = _doc_offsets(windows)
    intervals = [_words_around(offsets[b - 1], offsets[b]) for b in sorted(_cuts(windows))]
    middle = len(WORDS) // 2
    intervals.append((middle, middle + capacity))  # a word is >= 1 token: longer than any window
    merged: list[list[int]] = []
    for lo, hi in sorted((max(lo, 0), min(hi, len(WORDS) - 1)) for lo, hi in intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    spans = [Span(WORDS[lo][0], WORDS[hi][1], TYPES[i % 3]) for i, (lo, hi) in enumerate(merged)]
    return Document("synthetic", TEXT, lang="ro", spans=spans)


def _owner(windows: list[Window], n: int) -> list[int]:
    """The window each token's prediction must come from: farthest from a cut edge, earlier window on ties."""
    best, owner = [-1] * n, [0] * n
    for k, w in enumerate(windows):
        for g in range(w.token_start, w.token_end):
            left = g - w.token_start if w.token_start > 0 else n
            right = w.token_end - 1 - g if w.token_end < n else n
            if min(left, right) > best[g]:
                best[g], owner[g] = min(left, right), k
    return owner


def _noisy_gold_logits(windows: list[Window], num_labels: int, rng: random.Random) -> tuple[list[np.ndarray], int]:
    """One-hot gold on owned, labelled positions; a random label everywhere else. Returns (logits, noisy rows)."""
    owner = _owner(windows, windows[-1].token_end)
    out, noisy = [], 0
    for k, w in enumerate(windows):
        rows = []
        for p, label in enumerate(w.labels):
            g = w.token_start + p - w.content_start
            owned = w.content_start <= p < w.content_start + w.token_end - w.token_start and owner[g] == k
            if label == IGNORE or not owned:
                label = rng.randrange(num_labels)
                noisy += 1
            rows.append(label)
        out.append(np.eye(num_labels)[rows] * 8.0)
    return out, noisy


@pytest.mark.parametrize("scheme", ["IOB2", "BIOES"])
@pytest.mark.parametrize("label_all_subwords", [False, True])
@pytest.mark.parametrize(("max_length", "stride"), COMBOS)
def test_entities_across_every_window_cut_survive_the_round_trip(
    tokenizer: PreTrainedTokenizerFast, max_length: int, stride: int, label_all_subwords: bool, scheme: str
) -> None:
    label_map = LabelMap(TYPES, scheme)
    options = dict(max_length=max_length, stride=stride, label_all_subwords=label_all_subwords)
    plain = encode_document(Document("synthetic", TEXT, lang="ro"), tokenizer, label_map, **options)
    doc = _straddling_doc(plain, max_length - 2)
    report = EncodeReport()
    windows = encode_document(doc, tokenizer, label_map, report=report, **options)
    assert [(w.token_start, w.token_end) for w in windows] == [(w.token_start, w.token_end) for w in plain]
    assert len(windows) >= 6 and report.aligned == report.entities == len(doc.spans) and not report.not_aligned

    offsets = _doc_offsets(windows)
    for b in _cuts(windows):  # the construction really puts an entity across every cut
        assert any(s.start <= offsets[b - 1][0] and offsets[b][1] <= s.end for s in doc.spans), b
    longest = max(sum(1 for a, _ in offsets if s.start <= a < s.end) for s in doc.spans)
    assert longest > max_length  # one entity does not fit in any window

    logits, noisy = _noisy_gold_logits(windows, label_map.num_labels, random.Random(max_length + stride))
    decode_report = DecodeReport()
    decoded = decode_document(doc, windows, logits, label_map, report=decode_report)
    assert decoded.spans == sorted(doc.spans)  # nothing lost, cut, merged or duplicated
    assert decoded.text == doc.text and decode_report.repaired == 0
    assert set(decoded.meta["span_scores"]) == {f"{s.start}:{s.end}:{s.label}" for s in doc.spans}
    if stride or not label_all_subwords:
        assert noisy > 0  # the decoder really had wrong predictions to ignore


def test_average_merge_also_round_trips_gold(tokenizer: PreTrainedTokenizerFast) -> None:
    label_map = LabelMap(TYPES)
    plain = encode_document(Document("synthetic", TEXT), tokenizer, label_map, max_length=24, stride=8)
    doc = _straddling_doc(plain, 22)
    windows = encode_document(doc, tokenizer, label_map, max_length=24, stride=8)
    logits = [np.eye(label_map.num_labels)[[max(x, 0) for x in w.labels]] for w in windows]
    probs = [np.asarray(x) for x in logits]
    assert decode_document(doc, windows, logits, label_map, merge="average").spans == sorted(doc.spans)
    assert decode_document(doc, windows, probs, label_map, probabilities=True).spans == sorted(doc.spans)


def test_invalid_predicted_sequences_are_repaired_or_dropped(tokenizer: PreTrainedTokenizerFast) -> None:
    label_map = LabelMap(("DISO",))
    text = "abcd efgh ijkl"
    (window,) = encode_document(Document("d", text), tokenizer, label_map, label_all_subwords=True)
    tags = ["O"] + ["I-DISO"] * (len(window.input_ids) - 2) + ["O"]  # no B- at all
    logits = np.eye(label_map.num_labels)[[label_map.label2id[t] for t in tags]]
    report = DecodeReport()
    (span,) = decode_document(Document("d", text), [window], [logits], label_map, report=report).spans
    assert (span.start, span.end) == (0, len(text)) and report.repaired == 1
    assert decode_document(Document("d", text), [window], [logits], label_map, repair="drop").spans == []


def test_padded_torch_batch_and_empty_documents(tokenizer: PreTrainedTokenizerFast) -> None:
    torch = pytest.importorskip("torch")
    label_map = LabelMap(TYPES)
    plain = encode_document(Document("synthetic", TEXT), tokenizer, label_map, max_length=32, stride=8)
    doc = _straddling_doc(plain, 30)
    windows = encode_document(doc, tokenizer, label_map, max_length=32, stride=8)
    batch = torch.full((len(windows), 32, label_map.num_labels), -5.0)  # padded like a collated model output
    for k, w in enumerate(windows):
        batch[k, torch.arange(len(w.labels)), torch.tensor([max(x, 0) for x in w.labels])] = 5.0
    assert decode_document(doc, windows, batch, label_map).spans == sorted(doc.spans)
    for text in ("", "   \n "):
        empty = Document("e", text)
        (window,) = encode_document(empty, tokenizer, label_map)
        assert window.input_ids == [tokenizer.cls_token_id, tokenizer.sep_token_id]
        assert decode_document(empty, [window], [np.zeros((2, label_map.num_labels))], label_map).spans == []
