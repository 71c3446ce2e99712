"""Entity-level NER evaluation on character spans: strict, lenient and boundary-only P/R/F1.

Gold and predicted `Document`s are paired by id; the texts must be identical, because offsets into different
texts cannot be compared (a predictions file written from re-tokenised or cleaned text would otherwise score as
silent garbage). Entities never cross documents. The same counting code (`score_spans`) scores tag sequences
(`medadapt.metrics.tags`), which is how it is checked against seqeval and conlleval.

Label handling, in this order: `label_map` renames types on both sides (a type mapped to None is dropped, e.g.
negation cues); then `labels`, if given, keeps only those (mapped) types. Types that remain on either side are
reported; zero denominators give 0.0, as in seqeval/scikit-learn.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from medadapt.documents import Document, Span
from medadapt.errors import InputError
from medadapt.metrics.counts import Counts, ModeScores
from medadapt.metrics.matching import boundary_counts, lenient_counts, strict_counts
from medadapt.metrics.report import EntityReport

LabelMap = Mapping[str, str | None]


class _Tally:
    """Counts summed over documents; strict, lenient and boundary see exactly the same (filtered) spans."""

    def __init__(self, labels: set[str] | None, label_map: LabelMap | None):
        self.labels, self.label_map = labels, label_map
        self.strict: dict[str, Counts] = {}
        self.lenient: dict[str, Counts] = {}
        self.boundary = Counts()
        self.types: set[str] = set()
        self.documents = 0

    def _keep(self, spans: Sequence[Span]) -> list[Span]:
        out = []
        for span in spans:
            label = self.label_map.get(span.label, span.label) if self.label_map else span.label
            if label is None or (self.labels is not None and label not in self.labels):
                continue
            out.append(span if label == span.label else dataclasses.replace(span, label=label))
        return out

    def add(self, gold: Sequence[Span], pred: Sequence[Span]) -> None:
        gold, pred = self._keep(gold), self._keep(pred)
        self.documents += 1
        self.types.update(s.label for s in gold)
        self.types.update(s.label for s in pred)
        for total, found in ((self.strict, strict_counts(gold, pred)), (self.lenient, lenient_counts(gold, pred))):
            for label, counts in found.items():
                total.setdefault(label, Counts()).add(counts)
        self.boundary.add(boundary_counts(gold, pred))

    def report(self) -> EntityReport:
        missing = sorted(self.labels - self.types) if self.labels is not None else []
        return EntityReport(
            strict=ModeScores.from_counts(self.strict, self.types),
            lenient=ModeScores.from_counts(self.lenient, self.types),
            boundary=self.boundary,
            documents=self.documents,
            missing_labels=missing,
        )


def score_spans(
    pairs: Iterable[tuple[Sequence[Span], Sequence[Span]]],
    *,
    labels: set[str] | None = None,
    label_map: LabelMap | None = None,
) -> EntityReport:
    """Score (gold spans, predicted spans) pairs, one pair per document or sentence; no text checks."""
    tally = _Tally(labels, label_map)
    for gold, pred in pairs:
        tally.add(gold, pred)
    return tally.report()


def _few(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _source(doc: Document, default: str) -> str:
    return str(doc.meta.get("source") or default)


def _check_pair(gold: Document, pred: Document, pred_name: str) -> None:
    """Same text, offsets inside it: otherwise the comparison would be meaningless."""
    if pred.text != gold.text:
        at = next((i for i, (a, b) in enumerate(zip(gold.text, pred.text, strict=False)) if a != b), None)
        at = min(len(gold.text), len(pred.text)) if at is None else at
        raise InputError(
            _source(pred, pred_name),
            f"document {pred.id!r}: predicted text differs from the gold text from character {at} on "
            f"(lengths {len(pred.text)} vs {len(gold.text)}); predictions must keep the gold text unchanged",
            offset=at,
        )
    try:
        pred.validate()
    except ValueError as exc:
        raise InputError(_source(pred, pred_name), str(exc)) from None


def _index(docs: Iterable[Document], name: str) -> dict[str, Document]:
    out: dict[str, Document] = {}
    for doc in docs:
        if doc.id in out:
            raise InputError(_source(doc, name), f"document id {doc.id!r} occurs twice in {name}; ids must be unique")
        out[doc.id] = doc
    return out


def evaluate_entities(
    gold: Iterable[Document],
    pred: Iterable[Document],
    *,
    labels: set[str] | None = None,
    label_map: LabelMap | None = None,
    allow_missing: bool = False,
    names: tuple[str, str] = ("gold", "predictions"),
) -> EntityReport:
    """Strict, lenient and boundary-only entity scores of `pred` against `gold`, documents paired by id.

    Predictions are streamed (gold is held in memory). A gold document without prediction is an `InputError`
    unless `allow_missing`, which scores it as predicting nothing; a predicted document absent from gold, a
    duplicate id or a changed text is always an error. `names` label the two sides in error messages (the CLI
    passes the file paths). See the module doc for `labels` and `label_map`.
    """
    gold_docs = _index(gold, names[0])
    tally = _Tally(labels, label_map)
    seen: set[str] = set()
    extra: list[str] = []
    for doc in pred:
        if doc.id in seen:
            raise InputError(_source(doc, names[1]), f"document id {doc.id!r} occurs twice in {names[1]}")
        seen.add(doc.id)
        reference = gold_docs.get(doc.id)
        if reference is None:
            extra.append(doc.id)
            continue
        _check_pair(reference, doc, names[1])
        tally.add(reference.spans, doc.spans)
    missing = [doc_id for doc_id in gold_docs if doc_id not in seen]
    problems = []
    if extra:
        problems.append(f"{len(extra)} predicted document(s) are not in {names[0]}: {_few(extra)}")
    if missing and not allow_missing:
        problems.append(
            f"{len(missing)} {names[0]} document(s) have no prediction: {_few(missing)} "
            "(allow_missing / --allow-missing scores them as predicting nothing)"
        )
    if problems:
        raise InputError(names[1], "; ".join(problems))
    for doc_id in missing:
        tally.add(gold_docs[doc_id].spans, [])
    return tally.report()
