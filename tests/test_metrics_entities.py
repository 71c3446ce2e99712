"""Entity metrics: exact agreement with seqeval (default and strict mode) and conlleval on random tag sequences,
lenient matching is maximum, and character-span scores on real BRAT data equal an independent count."""

from __future__ import annotations

import dataclasses
import random
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from seqeval.metrics import classification_report, f1_score
from seqeval.scheme import IOB2, IOBES

from medadapt.documents import Document, Span
from medadapt.errors import InputError
from medadapt.io import read_documents
from medadapt.metrics import (
    EntityReport,
    evaluate_entities,
    evaluate_tag_sequences,
    lenient_matching,
    score_spans,
    tags_to_spans,
)

TYPES = ("PER", "LOC", "ORG", "MISC", "DRUG")  # < 8 types: numpy's mean then sums left to right, like ours

# --------------------------------------------------------------------------- random tag sequences


def _valid_iob2(rng: random.Random, length: int) -> list[str]:
    tags: list[str] = []
    while len(tags) < length:
        if rng.random() < 0.5:
            tags.append("O")
            continue
        typ = rng.choice(TYPES)
        tags += [f"B-{typ}"] + [f"I-{typ}"] * rng.randrange(3)
    return tags[:length]


def _repair_iob2(tags: list[str]) -> list[str]:
    """Make an I- that does not continue an entity a B-, so the sequence is valid IOB2."""
    out = []
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and (i == 0 or out[i - 1] == "O" or out[i - 1][2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
    return out


def _corrupt(rng: random.Random, tags: list[str], p: float, prefixes: str = "BI") -> list[str]:
    return [f"{rng.choice(prefixes)}-{rng.choice(TYPES)}" if rng.random() < p else t for t in tags]


def _to_bioes(tags: list[str]) -> list[str]:
    out = []
    for i, tag in enumerate(tags):
        if tag == "O":
            out.append(tag)
            continue
        last = i + 1 == len(tags) or tags[i + 1] != f"I-{tag[2:]}"
        prefix = {("B", True): "S", ("B", False): "B", ("I", True): "E", ("I", False): "I"}[(tag[0], last)]
        out.append(f"{prefix}-{tag[2:]}")
    return out


def _corpus(seed: int, valid: bool, bioes: bool = False) -> tuple[list[list[str]], list[list[str]]]:
    """A few sentences of gold and predicted tags; predictions are corrupted gold so that many entities match."""
    rng = random.Random(seed)
    gold, pred = [], []
    for _ in range(rng.randrange(1, 6)):
        length = rng.randrange(1, 14)
        g = _valid_iob2(rng, length)
        p = _corrupt(rng, g, 0.25)
        if valid:
            p = _repair_iob2(p)
        else:
            g = _corrupt(rng, g, 0.15)
        if bioes:
            g, p = _to_bioes(g), _to_bioes(p)
            if not valid:
                g, p = _corrupt(rng, g, 0.15, "BIES"), _corrupt(rng, p, 0.15, "BIES")
        gold.append(g)
        pred.append(p)
    return gold, pred


def _assert_equals_seqeval(report: EntityReport, expected: dict, micro_f1: float) -> None:
    """Every number seqeval reports, compared with ==: counts, per-type P/R/F1, micro and macro."""
    averages = {"micro avg", "macro avg", "weighted avg"}
    assert report.types == sorted(set(expected) - averages)
    for typ, counts in report.strict.per_type.items():
        row = expected[typ]
        assert (counts.precision, counts.recall, counts.f1, counts.support) == (
            row["precision"],
            row["recall"],
            row["f1-score"],
            row["support"],
        ), typ
    if not report.types:  # seqeval reports no averages without any entity
        return
    micro, macro = report.strict.micro, report.strict.macro
    row = expected["micro avg"]
    assert (micro.precision, micro.recall, micro.f1, micro.support) == (
        row["precision"],
        row["recall"],
        row["f1-score"],
        row["support"],
    )
    row = expected["macro avg"]
    assert (macro.precision, macro.recall, macro.f1) == (row["precision"], row["recall"], row["f1-score"])
    assert micro.f1 == micro_f1


def _seqeval(gold: list[list[str]], pred: list[list[str]], **kwargs: object) -> tuple[dict, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = classification_report(gold, pred, output_dict=True, **kwargs)
        return report, float(f1_score(gold, pred, average="micro", **kwargs))


@pytest.mark.parametrize("valid", [True, False], ids=["valid", "invalid"])
def test_strict_mode_equals_seqeval_strict_iob2(valid: bool) -> None:
    for seed in range(300):
        gold, pred = _corpus(seed, valid)
        report = evaluate_tag_sequences(gold, pred, "IOB2", invalid_i="drop")
        _assert_equals_seqeval(report, *_seqeval(gold, pred, mode="strict", scheme=IOB2))


@pytest.mark.parametrize("valid", [True, False], ids=["valid", "invalid"])
def test_strict_mode_equals_seqeval_strict_bioes(valid: bool) -> None:
    for seed in range(300):
        gold, pred = _corpus(seed, valid, bioes=True)
        report = evaluate_tag_sequences(gold, pred, "BIOES", invalid_i="drop")
        _assert_equals_seqeval(report, *_seqeval(gold, pred, mode="strict", scheme=IOBES))


@pytest.mark.parametrize(("valid", "bioes"), [(True, False), (False, False), (False, True)])
def test_start_mode_equals_seqeval_default(valid: bool, bioes: bool) -> None:
    for seed in range(300):
        gold, pred = _corpus(seed, valid, bioes=bioes)
        report = evaluate_tag_sequences(gold, pred, "BIOES" if bioes else "IOB2", invalid_i="start")
        _assert_equals_seqeval(report, *_seqeval(gold, pred))


def test_conventions_differ_on_an_i_after_o() -> None:
    tags = ["O", "I-PER", "I-PER", "B-LOC", "I-PER"]
    assert [(s.start, s.end, s.label) for s in tags_to_spans(tags)] == [(1, 3, "PER"), (3, 4, "LOC"), (4, 5, "PER")]
    assert [(s.start, s.end, s.label) for s in tags_to_spans(tags, invalid_i="drop")] == [(3, 4, "LOC")]
    assert tags_to_spans(["B-X", "I-X", "O"], "BIOES", invalid_i="drop") == []  # no E-: not an entity
    with pytest.raises(ValueError, match="token 1"):
        tags_to_spans(["O", "E-X"], "IOB2")


# --------------------------------------------------------------------------- conlleval (Perl) reference


def _split(tag: str) -> tuple[str, str]:
    prefix, sep, typ = tag.partition("-")  # conlleval: /^([^-]*)-(.*)$/, else the type is ""
    return (prefix, typ) if sep else (tag, "")


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    pairs = {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O")}
    return (prev_tag, tag) in pairs or (prev_tag not in ("O", ".") and prev_type != typ) or prev_tag in ("[", "]")


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    pairs = {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E")}
    return (prev_tag, tag) in pairs or (tag not in ("O", ".") and prev_type != typ) or tag in ("[", "]")


def _conlleval(gold: list[list[str]], pred: list[list[str]]) -> tuple[Counter, Counter, Counter]:
    """conlleval.pl's counting loop: one pass over the token lines, a sentence break read as O/O."""
    lines = [pair for g, p in zip(gold, pred, strict=True) for pair in [*zip(g, p, strict=True), ("O", "O")]]
    correct_chunk, found_correct, found_guessed = Counter(), Counter(), Counter()
    last_correct, last_guessed, last_correct_type, last_guessed_type = "O", "O", "", ""
    in_correct = False
    for correct_tag, guessed_tag in lines:
        correct, correct_type = _split(correct_tag)
        guessed, guessed_type = _split(guessed_tag)
        end_c = _end_of_chunk(last_correct, correct, last_correct_type, correct_type)
        end_g = _end_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        start_c = _start_of_chunk(last_correct, correct, last_correct_type, correct_type)
        start_g = _start_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if in_correct:
            if end_c and end_g and last_guessed_type == last_correct_type:
                in_correct = False
                correct_chunk[last_correct_type] += 1
            elif end_c != end_g or guessed_type != correct_type:
                in_correct = False
        if start_c and start_g and guessed_type == correct_type:
            in_correct = True
        if start_c:
            found_correct[correct_type] += 1
        if start_g:
            found_guessed[guessed_type] += 1
        last_correct, last_guessed, last_correct_type, last_guessed_type = correct, guessed, correct_type, guessed_type
    if in_correct:
        correct_chunk[last_correct_type] += 1
    return correct_chunk, found_correct, found_guessed


@pytest.mark.parametrize("valid", [True, False], ids=["valid", "invalid"])
def test_start_mode_equals_conlleval(valid: bool) -> None:
    for seed in range(300):
        gold, pred = _corpus(1000 + seed, valid)
        correct, found_correct, found_guessed = _conlleval(gold, pred)
        report = evaluate_tag_sequences(gold, pred, "IOB2", invalid_i="start")
        for typ, counts in report.strict.per_type.items():
            assert (counts.tp, counts.support, counts.predicted) == (
                correct[typ],
                found_correct[typ],
                found_guessed[typ],
            ), (seed, typ)
        micro = report.strict.micro
        assert (micro.tp, micro.support, micro.predicted) == (
            correct.total(),
            found_correct.total(),
            found_guessed.total(),
        )
        if found_guessed.total() and found_correct.total() and correct.total():  # conlleval prints percentages
            precision, recall = (
                100 * correct.total() / found_guessed.total(),
                100 * correct.total() / found_correct.total(),
            )
            assert 100 * micro.f1 == pytest.approx(2 * precision * recall / (precision + recall), abs=1e-9)


# --------------------------------------------------------------------------- spans: strict, lenient, boundary


def test_strict_lenient_boundary_by_hand() -> None:
    gold = [Span(0, 5, "A"), Span(10, 15, "A"), Span(20, 25, "B"), Span(30, 35, "B")]
    pred = [Span(0, 5, "A"), Span(11, 15, "A"), Span(20, 25, "A"), Span(40, 45, "B")]
    report = score_spans([(gold, pred)])
    strict, lenient = report.strict.per_type, report.lenient.per_type
    assert (strict["A"].tp, strict["A"].fp, strict["A"].fn) == (1, 2, 1)
    assert (strict["B"].tp, strict["B"].fp, strict["B"].fn) == (0, 1, 2)
    assert (lenient["A"].tp, lenient["A"].fp, lenient["A"].fn) == (2, 1, 0)
    assert (report.boundary.tp, report.boundary.fp, report.boundary.fn) == (2, 2, 2)
    assert report.strict.macro.f1 == pytest.approx((strict["A"].f1 + 0.0) / 2)
    data = report.to_dict()
    assert data["strict"]["per_type"]["A"]["tp"] == 1 and data["lenient"]["micro"]["tp"] == 2
    assert "micro" in report.text() and "lenient" in report.text()


def test_discontinuous_spans_compare_fragments() -> None:
    gold = [Span(0, 20, "D", fragments=((0, 5), (15, 20)))]
    same = [Span(0, 20, "D", fragments=((0, 5), (15, 20)))]
    hull = [Span(0, 20, "D")]
    other = [Span(0, 20, "D", fragments=((0, 5), (16, 20)))]
    assert score_spans([(gold, same)]).strict.micro.tp == 1
    assert score_spans([(gold, hull)]).strict.micro.tp == 0
    assert score_spans([(gold, other)]).strict.micro.tp == 0
    assert score_spans([(gold, other)]).lenient.micro.tp == 1
    # the gap does not overlap: a prediction inside it is no lenient match
    assert score_spans([(gold, [Span(7, 12, "D")])]).lenient.micro.tp == 0
    # one fragment equal to (start, end) is the same as no fragments
    assert score_spans([([Span(3, 8, "D", fragments=((3, 8),))], [Span(3, 8, "D")])]).strict.micro.tp == 1


def test_duplicate_spans_are_a_multiset() -> None:
    gold = [Span(0, 5, "A"), Span(0, 5, "A")]
    report = score_spans([(gold, gold[:1])])
    assert (report.strict.micro.tp, report.strict.micro.fn) == (1, 1)
    assert (report.lenient.micro.tp, report.lenient.micro.fn) == (1, 1)


def test_lenient_is_maximum_not_greedy() -> None:
    """Greedy by overlap pairs X with A (9 shared characters) and then B and Y find nothing; the maximum pairs
    X with B and Y with A."""
    gold = [Span(0, 10, "T"), Span(9, 20, "T")]  # A, B
    pred = [Span(1, 12, "T"), Span(0, 1, "T")]  # X overlaps A by 9 and B by 3; Y overlaps A only
    assert lenient_matching(gold, pred) == [(0, 1), (1, 0)]
    assert score_spans([(gold, pred)]).lenient.micro.tp == 2


def _max_matching_size(gold: list[Span], pred: list[Span]) -> int:
    """Reference: an assignment over the 0/1 'shares a character' matrix (scipy), per type."""
    total = 0
    for label in {s.label for s in gold} & {s.label for s in pred}:
        g = [_chars(s) for s in gold if s.label == label]
        p = [_chars(s) for s in pred if s.label == label]
        adjacency = np.array([[1 if (a & b or a == b) else 0 for b in p] for a in g])
        rows, cols = linear_sum_assignment(adjacency, maximize=True)
        total += int(adjacency[rows, cols].sum())
    return total


def _chars(span: Span) -> frozenset[int]:
    pieces = span.fragments or ((span.start, span.end),)
    return frozenset(i for start, end in pieces for i in range(start, end))


def test_lenient_matching_is_maximum_and_at_least_strict_on_random_spans() -> None:
    rng = random.Random(7)
    for _ in range(400):

        def spans(n: int) -> list[Span]:
            out = []
            for _ in range(n):
                start = rng.randrange(40)
                out.append(Span(start, start + rng.randrange(1, 12), rng.choice("AB")))
            return out

        gold, pred = spans(rng.randrange(8)), spans(rng.randrange(8))
        report = score_spans([(gold, pred)])
        assert report.lenient.micro.tp == _max_matching_size(gold, pred)
        assert report.lenient.micro.tp >= report.strict.micro.tp
        pairs = lenient_matching(gold, pred)
        assert len({g for g, _ in pairs}) == len({p for _, p in pairs}) == len(pairs)


def test_labels_and_label_map() -> None:
    gold = [Span(0, 5, "DISO"), Span(6, 9, "Neg_cue"), Span(10, 14, "PROC")]
    pred = [Span(0, 5, "DISO"), Span(6, 9, "Neg_cue"), Span(10, 14, "CHEM")]
    report = score_spans([(gold, pred)], label_map={"DISO": "Disorder", "Neg_cue": None})
    assert report.types == ["CHEM", "Disorder", "PROC"]
    report = score_spans([(gold, pred)], labels={"DISO", "PROC", "TYPO"})
    assert report.types == ["DISO", "PROC"] and report.missing_labels == ["TYPO"]
    assert report.boundary.support == 2  # boundary-only sees the same filtered spans


# --------------------------------------------------------------------------- documents


def _doc(doc_id: str, text: str, spans: list[Span]) -> Document:
    return Document(id=doc_id, text=text, spans=spans, meta={"source": f"{doc_id}.txt"})


def test_document_mismatches_are_input_errors() -> None:
    gold = [_doc("a", "fiebre alta", [Span(0, 6, "DISO")]), _doc("b", "tos", [Span(0, 3, "DISO")])]
    with pytest.raises(InputError, match=r"'a'.*character 7") as info:
        evaluate_entities(gold, [_doc("a", "fiebre baja", []), gold[1]])
    assert info.value.path == "a.txt"
    with pytest.raises(InputError, match=r"no prediction: 'b'"):
        evaluate_entities(gold, gold[:1])
    with pytest.raises(InputError, match=r"not in gold: 'c'"):
        evaluate_entities(gold, [*gold, _doc("c", "x", [])])
    with pytest.raises(InputError, match="twice"):
        evaluate_entities(gold, [gold[0], gold[0]])
    with pytest.raises(InputError, match="beyond the text"):
        evaluate_entities(gold[:1], [_doc("a", "fiebre alta", [Span(0, 60, "DISO")])])
    report = evaluate_entities(gold, gold[:1], allow_missing=True)
    assert (report.strict.micro.tp, report.strict.micro.fn, report.documents) == (1, 1, 2)


@pytest.fixture(scope="module")
def dev_docs(shared_data: Path) -> list[Document]:
    folder = shared_data / "es" / "ct-ebm-sp" / "brat" / "dev"
    docs = list(read_documents(folder, "brat"))
    assert len(docs) > 100 and any(s.fragments for d in docs for s in d.spans)
    return docs


def _perturb(docs: list[Document], seed: int) -> list[Document]:
    """Drop, shift one boundary by one character, relabel, or add a spurious span, at random."""
    rng = random.Random(seed)
    labels = sorted({s.label for d in docs for s in d.spans})
    out = []
    for doc in docs:
        spans = []
        for span in doc.spans:
            r = rng.random()
            if r < 0.1:
                continue
            if r < 0.2 and not span.fragments and span.end - span.start >= 2:
                if rng.random() < 0.5:
                    span = dataclasses.replace(span, start=span.start + rng.choice((-1, 1)) if span.start else 1)
                else:
                    span = dataclasses.replace(span, end=min(len(doc.text), span.end + rng.choice((-1, 1))))
            elif r < 0.3:
                span = dataclasses.replace(span, label=rng.choice([x for x in labels if x != span.label]))
            spans.append(span)
            if rng.random() < 0.03:
                start = rng.randrange(len(doc.text) - 1)
                spans.append(
                    Span(start, rng.randrange(start + 1, min(len(doc.text), start + 30) + 1), rng.choice(labels))
                )
        rng.shuffle(spans)
        out.append(dataclasses.replace(doc, spans=spans))
    return out


def _independent_counts(gold: list[Document], pred: list[Document]) -> dict[str, dict[str, Counter]]:
    """Strict: multiset intersection of (doc, fragments, type); lenient: scipy assignment over shared characters."""

    def key(doc: Document, span: Span) -> tuple:
        return (doc.id, span.fragments or ((span.start, span.end),), span.label)

    out: dict[str, dict[str, Counter]] = {"strict": {}, "lenient": {}}
    g = Counter(key(d, s) for d in gold for s in d.spans)
    p = Counter(key(d, s) for d in pred for s in d.spans)
    out["strict"] = {
        "tp": Counter({k[2]: 0 for k in g + p}),
        "gold": Counter(k[2] for k in g.elements()),
        "pred": Counter(k[2] for k in p.elements()),
    }
    for k, n in (g & p).items():
        out["strict"]["tp"][k[2]] += n
    lenient = Counter()
    for gd, pd in zip(gold, pred, strict=True):
        for label in {s.label for s in gd.spans}:
            lenient[label] += _max_matching_size(
                [s for s in gd.spans if s.label == label], [s for s in pd.spans if s.label == label]
            )
    out["lenient"] = {"tp": lenient}
    return out


def test_real_brat_perturbed_equals_independent_count(dev_docs: list[Document]) -> None:
    pred = _perturb(dev_docs, seed=3)
    report = evaluate_entities(dev_docs, reversed(pred))  # order does not matter, ids do
    expected = _independent_counts(dev_docs, pred)
    strict = expected["strict"]
    assert report.types == sorted(strict["gold"] | strict["pred"])
    for typ in report.types:
        s, le = report.strict.per_type[typ], report.lenient.per_type[typ]
        assert (s.tp, s.support, s.predicted) == (strict["tp"][typ], strict["gold"][typ], strict["pred"][typ]), typ
        assert (le.tp, le.support, le.predicted) == (expected["lenient"]["tp"][typ], s.support, s.predicted), typ
    micro = report.strict.micro
    assert 0.5 < micro.f1 < report.lenient.micro.f1 < 1.0
    assert micro.precision == micro.tp / sum(strict["pred"].values())


def test_real_brat_identical_scores_one(dev_docs: list[Document]) -> None:
    report = evaluate_entities(dev_docs, dev_docs)
    assert report.documents == len(dev_docs)
    for mode in (report.strict, report.lenient):
        assert all(c.f1 == 1.0 for c in mode.per_type.values())
        assert mode.micro.f1 == mode.macro.f1 == 1.0
    assert report.boundary.f1 == 1.0
