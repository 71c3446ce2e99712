"""NER data for the training loop: files → counted, encodable documents → windows → padded batches, and back.

`load_split` reads one split, maps labels and resolves spans, adding every change to a `DataReport` (written to
`data_report.json` beside the run) so a user can see what the model was never asked to predict — and what the
readers repaired (`reading`: CoNLL I- tags that started an entity, tags read as O, moved BRAT spans, BRAT texts
read without their `.ann`, which is an error unless `data.allow_missing_ann`). It returns both
the mapped documents (the gold that is scored: the annotation, not what the span policy kept) and the resolved
ones (what is encoded). `collate` pads with the tokenizer's pad id and -100 labels; `predict` runs a model over
windows in length-sorted batches and returns each window's logits unpadded, in the input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from medadapt.documents import Document
from medadapt.errors import InputError
from medadapt.io import detect_format, expand_inputs, read_documents
from medadapt.io.read import ReadCounts, missing_ann_error
from medadapt.tasks.ner.config import NerConfig
from medadapt.tasks.ner.encoding import IGNORE, EncodeReport, Window, encode_document
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


def make_collate(pad_id: int):
    """Pad `input_ids` (pad id), `attention_mask` (0) and `labels` (-100) to the longest example of the batch."""

    def collate(features: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        pads = {"input_ids": pad_id, "attention_mask": 0, "labels": IGNORE}
        return {
            name: torch.tensor([f[name] + [pad] * (width - len(f[name])) for f in features], dtype=torch.long)
            for name, pad in pads.items()
            if name in features[0]
        }

    return collate


def class_weights(windows: Sequence[Window], num_labels: int) -> torch.Tensor:
    """Inverse square-root label frequency over the labelled tokens, scaled so the average token weight is 1."""
    counts = np.zeros(num_labels)
    for window in windows:
        labels = np.asarray(window.labels)
        counts += np.bincount(labels[labels != IGNORE], minlength=num_labels)[:num_labels]
    weights = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    weights *= counts.sum() / max(float((weights * counts).sum()), 1e-12)
    return torch.tensor(weights, dtype=torch.float32)


@torch.no_grad()
def predict(model: torch.nn.Module, windows: Sequence[Window], pad_id: int, batch_size: int) -> list[np.ndarray]:
    """Per-window logits [window length, labels] in the order of `windows` (batches grouped by length)."""
    device = next(model.parameters()).device
    collate = make_collate(pad_id)
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    out: list[np.ndarray | None] = [None] * len(windows)
    was_training = model.training
    model.eval()
    for k in range(0, len(order), batch_size):
        chunk = order[k : k + batch_size]
        batch = collate([{n: v for n, v in windows[i].features().items() if n != "labels"} for i in chunk])
        logits = model(**{n: t.to(device) for n, t in batch.items()}).logits.float().cpu().numpy()
        for row, i in zip(logits, chunk, strict=True):
            out[i] = row[: len(windows[i].input_ids)]
    model.train(was_training)
    return out  # type: ignore[return-value]
