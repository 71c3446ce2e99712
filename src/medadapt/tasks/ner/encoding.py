"""Document with character spans → token-classification windows (input_ids, attention_mask, labels, offsets).

Steps: normalise the text one-to-one for the tokenizer (offsets do not move, see normalize.py), tokenize the
whole document once (tasks/windows.py), tag labelling units from the character spans, then cut overlapping
windows of at most `max_length` tokens including specials. Labels are kept for every token of every window
(-100 only on specials, on tokens without characters and, unless `label_all_subwords`, on non-first subwords);
which window's prediction counts for a token is the decoder's business.

Alignment: an entity tags every unit its characters touch. When a boundary falls inside a unit (e.g. the entity
"HER2" inside the word "antiHER2"), the entity is *expanded* to the unit boundaries — the model can only
predict whole units — and counted in `EncodeReport.not_aligned`, with the span that will come back from
decoding. Entities are never dropped without a record: one whose units are all taken by the entity before it
(two entities inside one word) or that touches no token at all is counted as lost, with its reason.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

from transformers import PreTrainedTokenizerBase

from medadapt.documents import Document, Span
from medadapt.errors import ConfigError
from medadapt.tasks.ner.normalize import normalize_text
from medadapt.tasks.ner.tags import LabelMap
from medadapt.tasks.windows import Units, build_units, plan_windows, sentence_start_tokens, tokenize

IGNORE = -100


@dataclass
class Window:
    """One model input. Position p of `input_ids` is content token `token_start + p - content_start` when
    `content_start <= p < content_start + token_end - token_start`, else a special token."""

    doc_id: str
    input_ids: list[int]
    attention_mask: list[int]
    labels: list[int]
    offsets: list[tuple[int, int]]  # character offsets into the document text; (0, 0) for specials
    word_ids: list[int | None]  # document-level word index; None for specials
    token_start: int  # document content-token range [token_start, token_end)
    token_end: int
    content_start: int  # position of the first content token (= number of leading specials)
    label_all_subwords: bool = False

    def features(self) -> dict[str, list[int]]:
        """The fields a data collator pads (Hugging Face names)."""
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask, "labels": self.labels}


@dataclass(frozen=True)
class NotAligned:
    """A gold entity the tags cannot reproduce exactly; `recovered` is what decoding gives back (None: lost)."""

    doc_id: str
    gold: Span
    recovered: Span | None
    reason: str  # "expanded", "shrunk" (gold edge on whitespace/untokenized chars), "shared-token", "no-token"


@dataclass
class EncodeReport:
    """Counts over all documents encoded with it; `not_aligned` lists each inexact entity."""

    documents: int = 0
    windows: int = 0
    tokens: int = 0
    entities: int = 0
    aligned: int = 0
    not_aligned: list[NotAligned] = field(default_factory=list)
    normalized: Counter[str] = field(default_factory=Counter)  # character → replacements made

    def count(self, reason: str) -> int:
        return sum(1 for item in self.not_aligned if item.reason == reason)

    @property
    def lost(self) -> int:
        return sum(1 for item in self.not_aligned if item.recovered is None)

    def summary(self) -> str:
        reasons = Counter(item.reason for item in self.not_aligned)
        return (
            f"{self.documents} documents, {self.windows} windows, {self.tokens} tokens, {self.entities} entities:"
            f" {self.aligned} token-aligned, not aligned {dict(sorted(reasons.items()))}, lost {self.lost};"
            f" normalised characters {sum(self.normalized.values())}"
        )


def _check_spans(doc: Document, label_map: LabelMap) -> list[Span]:
    spans = sorted(doc.spans)
    known = set(label_map.types)
    for prev, span in zip([None, *spans], spans, strict=False):
        if span.fragments:
            raise ConfigError(
                f"document {doc.id!r}: span {span.start}-{span.end} ({span.label}) is discontinuous; "
                "resolve spans first (tasks.resolve_spans / resolve_document, discontinuous='cover' or 'fragments')"
            )
        if prev is not None and prev.end > span.start:
            raise ConfigError(
                f"document {doc.id!r}: spans {prev.start}-{prev.end} ({prev.label}) and {span.start}-{span.end} "
                f"({span.label}) overlap; BIO tags cannot hold both — resolve spans first (tasks.resolve_spans)"
            )
        if span.label not in known:
            raise ConfigError(
                f"document {doc.id!r}: label {span.label!r} is not in the label map {list(label_map.types)}; "
                "map or drop it first (tasks.map_labels) or build the label map from these documents"
            )
    return spans


def align_spans(
    doc: Document, spans: list[Span], units: Units, label_map: LabelMap, report: EncodeReport
) -> list[int | None]:
    """Tag ids per unit (None = no entity) for sorted, disjoint spans; inexact entities go to the report."""
    tags: list[int | None] = [None] * len(units)
    taken = 0  # units before this index already belong to an earlier entity
    for span in spans:
        report.entities += 1
        first = bisect.bisect_right(units.end, span.start)  # first unit ending after the span starts
        stop = bisect.bisect_left(units.start, span.end)  # first unit starting at or after its end
        if first >= stop or stop <= taken:  # touches no token, or only tokens of the previous entity
            report.not_aligned.append(NotAligned(doc.id, span, None, "no-token" if first >= stop else "shared-token"))
            continue
        shifted = first < taken  # its first unit(s) carry the previous entity: start after them
        first = max(first, taken)
        recovered = Span(units.start[first], units.end[stop - 1], span.label, (), span.id)
        if (recovered.start, recovered.end) == (span.start, span.end):
            report.aligned += 1
        else:
            if shifted:
                why = "shared-token"
            elif recovered.start < span.start or recovered.end > span.end:
                why = "expanded"
            else:
                why = "shrunk"
            report.not_aligned.append(NotAligned(doc.id, span, recovered, why))
        tags[first:stop] = label_map.tags_for_run(span.label, stop - first)
        taken = stop
    return tags


def encode_document(
    doc: Document,
    tokenizer: PreTrainedTokenizerBase,
    label_map: LabelMap,
    max_length: int = 512,
    stride: int = 128,
    label_all_subwords: bool = False,
    sentence_boundaries: bool = False,
    *,
    normalize: bool = True,
    report: EncodeReport | None = None,
) -> list[Window]:
    """Encode one document into windows of at most `max_length` tokens (specials included).

    Consecutive windows overlap by at least `stride` tokens (more when a start is moved back to a word or, with
    `sentence_boundaries`, a sentence start). Spans must be contiguous, disjoint and in `label_map` (a
    `ConfigError` names the fix otherwise). `normalize` applies the one-to-one character table for `doc.lang`.
    """
    report = report if report is not None else EncodeReport()
    spans = _check_spans(doc, label_map)
    text = doc.text
    if normalize:
        text, counts = normalize_text(text, doc.lang)
        report.normalized.update(counts)
    tok = tokenize(text, tokenizer)
    units = build_units(tok.offsets, tok.word_ids, by_word=not label_all_subwords)
    token_labels = [IGNORE] * len(tok.ids)
    for unit, tag in enumerate(align_spans(doc, spans, units, label_map, report)):
        token_labels[units.token[unit]] = 0 if tag is None else tag
    word_starts = [i == 0 or w is None or w != tok.word_ids[i - 1] for i, w in enumerate(tok.word_ids)]
    sentences = sentence_start_tokens(text, tok.offsets) if sentence_boundaries else None
    capacity = max_length - len(tok.prefix) - len(tok.suffix)
    pre, post = len(tok.prefix), len(tok.suffix)
    windows = []
    for start, end in plan_windows(len(tok.ids), capacity, stride, word_starts, sentences):
        size = pre + (end - start) + post
        windows.append(
            Window(
                doc_id=doc.id,
                input_ids=tok.prefix + tok.ids[start:end] + tok.suffix,
                attention_mask=[1] * size,
                labels=[IGNORE] * pre + token_labels[start:end] + [IGNORE] * post,
                offsets=[(0, 0)] * pre + tok.offsets[start:end] + [(0, 0)] * post,
                word_ids=[None] * pre + tok.word_ids[start:end] + [None] * post,
                token_start=start,
                token_end=end,
                content_start=pre,
                label_all_subwords=label_all_subwords,
            )
        )
    report.documents += 1
    report.windows += len(windows)
    report.tokens += len(tok.ids)
    return windows
