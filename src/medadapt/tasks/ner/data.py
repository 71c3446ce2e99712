"""NER data for the training loop: files → counted, encodable documents → windows.

`load_split` reads one split, maps labels and resolves spans, adding every change to a `DataReport` (written to
`data_report.json` beside the run) so a user can see what the model was never asked to predict — and what the
readers repaired (`reading`: CoNLL I- tags that started an entity, tags read as O, moved BRAT spans, BRAT texts
read without their `.ann`, which is an error unless `data.allow_missing_ann`). It returns both
the mapped documents (the gold that is scored: the annotation, not what the span policy kept) and the resolved
ones (what is encoded). What a model does with the windows (batches, class weights, prediction) is in batches.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from medadapt.documents import Document
from medadapt.errors import InputError
from medadapt.io import detect_format, expand_inputs, read_documents
from medadapt.io.read import ReadCounts, missing_ann_error
from medadapt.tasks.ner.config import NerConfig
from medadapt.tasks.ner.encoding import EncodeReport, Window, encode_document
from medadapt.tasks.ner.label_renaming import LabelMappingReport, map_labels
from medadapt.tasks.ner.span_policy import SpanPolicyReport, resolve_document
from medadapt.tasks.ner.tags import LabelMap


@dataclass
class DataReport:
    """Per split: documents, label mapping, span policy and encoding counts."""

    splits: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(
        self,
        split: str,
        docs: int,
        mapping: LabelMappingReport,
        policy: SpanPolicyReport,
        reading: ReadCounts | None = None,
    ) -> None:
        self.splits[split] = {
            "documents": docs,
            "reading": (reading or ReadCounts()).to_dict(),
            "label_mapping": _plain_fields(mapping),
            "span_policy": {**_plain_fields(policy), "dropped": policy.dropped, "summary": policy.summary()},
        }

    def add_encoding(self, split: str, report: EncodeReport) -> None:
        reasons: dict[str, int] = {}
        for item in report.not_aligned:
            reasons[item.reason] = reasons.get(item.reason, 0) + 1
        self.splits[split]["encoding"] = {
            "windows": report.windows,
            "tokens": report.tokens,
            "entities": report.entities,
            "aligned": report.aligned,
            "not_aligned": reasons,
            "lost": report.lost,
            "summary": report.summary(),
        }


def _plain_fields(report: Any) -> dict[str, Any]:
    """A report dataclass as JSON-ready fields. Not `dataclasses.asdict`: it rebuilds a Counter from (key, count)
    pairs, which counts the pairs themselves ({("GENE", 16): 1}) and cannot be written as JSON."""
    plain = {}
    for f in fields(report):
        value = getattr(report, f.name)
        plain[f.name] = dict(value) if isinstance(value, dict) else value
    return plain


def input_format(config: NerConfig) -> str:
    """The training data's format ("auto" resolved on its first file): predictions are written back alike."""
    if config.data.format != "auto":
        return config.data.format
    path = Path(config.data.train)
    first = path if path.is_dir() else expand_inputs([path])[0]
    return detect_format(first)


def load_split(config: NerConfig, split: str, report: DataReport) -> tuple[list[Document], list[Document]]:
    """(mapped gold documents, resolved documents) of one split; the counts go to `report`."""
    path = getattr(config.data, split)
    fmt = config.data.format
    reading = ReadCounts()
    docs = list(
        reading.counting(
            read_documents(
                path,
                fmt,
                lang=config.data.lang,
                label_column=config.data.label_column,
                brat_repair=config.data.brat_repair,
                brat_label_from_note=config.data.brat_label_from_note,
                annotated=True,
            )
        )
    )
    if not docs:
        raise InputError(path, f"the {split} split holds no documents")
    if reading.missing_ann and not config.data.allow_missing_ann:
        fix = "set data.allow_missing_ann=true to read such texts as having no entities (counted in data_report.json)"
        raise missing_ann_error(reading.missing_ann, f"{split} data without entities", fix)
    mapping = config.mapping()
    raw_spans = sum(len(d.spans) for d in docs)
    mapping_report, policy_report = LabelMappingReport(), SpanPolicyReport()
    if mapping is not None:
        docs = [map_labels(d, mapping, unmapped=config.unmapped, report=mapping_report) for d in docs]
    _require_entities(docs, path, split, raw_spans, mapping is not None)
    sp = config.span_policy
    resolved = [resolve_document(d, sp.policy, sp.priority, sp.discontinuous, policy_report) for d in docs]
    report.add(split, len(docs), mapping_report, policy_report, reading)
    return docs, resolved


def _require_entities(docs: Sequence[Document], path: str, split: str, raw_spans: int, mapped: bool) -> None:
    """A split without a single entity trains a model that predicts nothing, or scores 0 whatever the model
    does: almost always the wrong format, field or label map, so it stops here instead of after training."""
    if any(d.spans for d in docs):
        return
    after = f" after label_map ({raw_spans} before: are they all mapped to null?)" if mapped and raw_spans else ""
    hint = " (drop data.dev to keep the last epoch)" if split == "dev" else ""
    raise InputError(
        path,
        f"the {split} split holds no entities{after} in its {len(docs)} document(s); check data.format, "
        f"data.label_column and the files{hint}",
    )


def encode_split(
    docs: Sequence[Document], tokenizer: Any, label_map: LabelMap, config: NerConfig, split: str, report: DataReport
) -> list[Window]:
    """Windows of every document, the encoding counts added to `report`."""
    enc = config.encoding
    encode_report = EncodeReport()
    windows = [
        window
        for doc in docs
        for window in encode_document(
            doc,
            tokenizer,
            label_map,
            enc.max_length,
            enc.stride,
            enc.label_all_subwords,
            enc.sentence_boundaries,
            report=encode_report,
        )
    ]
    report.add_encoding(split, encode_report)
    return windows
