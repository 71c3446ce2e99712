"""NER fine-tuning recipe, top to bottom: data → label map → windows → model → `training.train` → test → outputs.

The task side of the one training loop: this module supplies the token-classification head, the collate function,
the class-weighted loss and `evaluate_fn` (predict dev windows → `decode_documents` → `evaluate_entities`, strict
micro-F1 as the selection metric); `medadapt.training` knows nothing of entities.

Outputs of one run (`out_dir`, or `out_dir/seed-<n>` per seed with `summary.json` above them):
    best-model/           save_pretrained safetensors + tokenizer; config.id2label is the label map
    log.jsonl             per epoch: step, loss, lr, dev metrics
    data_report.json      label mapping, span policy and encoding counts per split
    predictions/test/     BRAT (for BRAT input) or predictions.jsonl (JSONL/CoNLL input)
    metrics.json          dev (best epoch) and test scores: strict + lenient, micro/macro, per type
    resolved_config.yaml  the config as run, package version, git commit, input file hashes

Gold for scoring is the annotation after label mapping — not the span-policy-resolved copy the model trains on —
so nested or discontinuous entities the encoder cannot represent count as misses; `test_resolved` in
metrics.json scores against the resolved copy, to show how much the policy costs.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForTokenClassification

from medadapt.config import write_resolved_config
from medadapt.documents import Document
from medadapt.io import write_documents
from medadapt.loading import LoadSummary, load_pretrained, load_tokenizer
from medadapt.metrics import evaluate_entities
from medadapt.metrics.matching import strict_counts
from medadapt.tasks.ner.batches import class_weights, make_collate, predict
from medadapt.tasks.ner.config import NerConfig
from medadapt.tasks.ner.data import DataReport, encode_split, input_format, load_split
from medadapt.tasks.ner.decoding import decode_documents
from medadapt.tasks.ner.encoding import IGNORE, Window
from medadapt.tasks.ner.tags import LabelMap
from medadapt.tasks.protocol import data_files
from medadapt.tasks.seeds import training_record
from medadapt.training import process_state, train


def load_model(name: str, label_map: LabelMap) -> tuple[torch.nn.Module, LoadSummary]:
    """Encoder + a fresh token-classification head whose config carries the label map; and what was fresh.
    The one loader (`medadapt.loading`) says what went wrong when it does not load."""
    return load_pretrained(
        AutoModelForTokenClassification.from_pretrained,
        name,
        num_labels=label_map.num_labels,
        id2label=label_map.id2label,
        label2id=label_map.label2id,
    )


def predict_documents(
    model: torch.nn.Module,
    docs: list[Document],
    windows: list[Window],
    label_map: LabelMap,
    pad_id: int,
    batch: int,
    order: list[int] | None = None,
) -> list[Document]:
    """Predicted documents (original text, predicted spans); reader meta such as BRAT relations is not carried.
    `order`: the model's logit columns in label-map order, for models whose id2label medadapt did not write."""
    scores = predict(model, windows, pad_id, batch)
    if order is not None:
        scores = [s[:, order] for s in scores]
    bare = [replace(d, spans=[], meta={}) for d in docs]
    return decode_documents(bare, windows, scores, label_map)


def _scores(gold: list[Document], pred: list[Document]) -> dict[str, Any]:
    report = evaluate_entities(gold, pred)
    return report.to_dict() | {"f1": report.strict.micro.f1}


def _write_predictions(docs: list[Document], fmt: str, target: Path) -> Path:
    if fmt == "brat":
        write_documents(docs, target, "brat")
        return target
    target.mkdir(parents=True, exist_ok=True)
    write_documents(docs, target / "predictions.jsonl", "jsonl")
    return target / "predictions.jsonl"


def _known_labels_only(docs: list[Document], label_map: LabelMap, counts: dict[str, Any]) -> list[Document]:
    """Drop (and count) dev/test spans of types absent from train: the model has no tag for them."""
    unknown: dict[str, int] = {}
    for span in (s for d in docs for s in d.spans if s.label not in label_map.types):
        unknown[span.label] = unknown.get(span.label, 0) + 1
    counts["types_not_in_train"] = unknown
    return [replace(d, spans=[s for s in d.spans if s.label in label_map.types]) for d in docs]


@dataclass
class PreparedData:
    """One run's data, read and encoded: the tag vocabulary from train, train windows, and per evaluated split
    (gold as annotated, documents as resolved for the model, their windows); every count in `report`."""

    tags: LabelMap
    train_windows: list[Window]
    splits: dict[str, tuple[list[Document], list[Document], list[Window]]]
    report: DataReport


def prepare_data(config: NerConfig, tokenizer: Any) -> PreparedData:
    report = DataReport()
    _, train_docs = load_split(config, "train", report)
    tags = LabelMap.from_documents(train_docs, config.encoding.scheme)
    splits: dict[str, tuple[list[Document], list[Document], list[Window]]] = {}
    for split in ("dev", "test"):
        if getattr(config.data, split):
            gold, docs = load_split(config, split, report)
            docs = _known_labels_only(docs, tags, report.splits[split])
            splits[split] = (gold, docs, encode_split(docs, tokenizer, tags, config, split, report))
    train_windows = encode_split(train_docs, tokenizer, tags, config, "train", report)
    return PreparedData(tags, train_windows, splits, report)


class LastEpochWins:
    """The dev score without a dev set: it rises every epoch, so the loop keeps the last epoch's model."""

    def __init__(self) -> None:
        self.epochs = 0

    def __call__(self, model: torch.nn.Module) -> dict[str, Any]:
        self.epochs += 1
        return {"f1": float(self.epochs), "no_dev": True}


def dev_evaluator(data: PreparedData, pad_id: int, batch: int) -> Callable[[torch.nn.Module], dict[str, Any]]:
    """`evaluate_fn` for the loop: strict micro-F1 (and the rest) of the dev split, decoded to spans."""
    if "dev" not in data.splits:
        return LastEpochWins()
    gold, docs, windows = data.splits["dev"]
    return lambda model: _scores(gold, predict_documents(model, docs, windows, data.tags, pad_id, batch))


def weighted_loss(config: NerConfig, data: PreparedData) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
    """Cross-entropy with inverse-sqrt class weights (training.class_weighting), or None: the model's own loss."""
    if config.training.class_weighting != "inverse_sqrt_frequency":
        return None
    weights = class_weights(data.train_windows, data.tags.num_labels)

    def loss_fn(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        flat = logits.reshape(-1, logits.shape[-1])
        w = weights.to(flat.device)
        return torch.nn.functional.cross_entropy(flat, labels.reshape(-1), weight=w, ignore_index=IGNORE)

    return loss_fn


def run_seed(config: NerConfig, seed: int, out_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """One fine-tuning run with `seed`; returns the contents of its metrics.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = process_state()  # under `accelerate launch` every process runs this; only the main one writes files
    tokenizer = load_tokenizer(config.model)
    data = prepare_data(config, tokenizer)
    if state.is_main_process:
        (out_dir / "data_report.json").write_text(json.dumps(data.report.splits, indent=1, ensure_ascii=False))
        write_resolved_config(out_dir, config.model_copy(update={"out_dir": str(out_dir)}), data_files(config))
    torch.manual_seed(seed)  # the head's initialisation depends on the seed too
    model, loaded = load_model(config.model, data.tags)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    result = train(
        model,
        [w.features() for w in data.train_windows],
        make_collate(pad_id),
        dev_evaluator(data, pad_id, config.training.eval_batch_size),
        config.training,
        out_dir,
        seed=seed,
        loss_fn=weighted_loss(config, data),
        tokenizer=tokenizer,
        show_progress=show_progress,
        fresh=loaded.fresh_head_parameters(model),
    )
    metrics = run_metrics(config, seed, data, result, loaded, out_dir, pad_id)
    if state.is_main_process:
        (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1, ensure_ascii=False))
    return metrics


def run_metrics(
    config: NerConfig, seed: int, data: PreparedData, result: Any, loaded: LoadSummary, out_dir: Path, pad_id: int
) -> dict[str, Any]:
    """metrics.json of a finished run: how training went, dev at the best epoch, and the best model on test
    (scored, and its predictions written)."""
    state = process_state()
    metrics: dict[str, Any] = training_record(seed, result) | {
        "labels": list(data.tags.labels),
        "model_load": loaded.to_dict(),
    }
    if "dev" in data.splits:
        metrics["dev"] = next(r["dev"] for r in result.history if r.get("epoch") == result.best_epoch and "dev" in r)
    if "test" in data.splits:
        best = AutoModelForTokenClassification.from_pretrained(result.best_dir).to(state.device)
        gold, docs, windows = data.splits["test"]
        predicted = predict_documents(best, docs, windows, data.tags, pad_id, config.training.eval_batch_size)
        metrics["test"] = _scores(gold, predicted)
        metrics["test_resolved"] = _scores(docs, predicted)
        target = out_dir / "predictions" / "test"
        if state.is_main_process:
            metrics["predictions"] = str(_write_predictions(predicted, input_format(config), target))
    return metrics


def summarize(per_seed: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Mean ± sample sd of strict micro-F1 over seeds, for dev (best epoch) and test."""
    summary: dict[str, Any] = {"seeds": list(per_seed)}
    for split in ("dev", "test"):
        values = [m[split]["f1"] for m in per_seed.values() if split in m]
        if values:
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            summary[split] = {"strict_micro_f1": {"mean": statistics.fmean(values), "sd": sd, "values": values}}
    return summary


def finetune_ner(config: NerConfig, *, show_progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """Fine-tune on every seed (the one multi-seed layout of `medadapt.tasks.seeds`); `resume` keeps seeds that
    finished with the same settings and inputs."""
    from medadapt.tasks.ner.task import NER

    return NER.finetune(config, show_progress=show_progress, resume=resume)


def evaluate_saved(config: NerConfig, model_dir: str | Path, test: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Score a fine-tuned model folder on another test file (zero-shot transfer): the label map comes from the
    model; `config` supplies how to read and encode the file. Types the model has no tag for are dropped and
    counted, as in training. Writes metrics.json and predictions into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(str(model_dir))
    model = AutoModelForTokenClassification.from_pretrained(model_dir).to(process_state().device)
    label_map, order = LabelMap.from_foreign_id2label(model.config.id2label)
    config = config.model_copy(update={"data": config.data.model_copy(update={"test": str(test)})})
    report = DataReport()
    gold, docs = load_split(config, "test", report)
    docs = _known_labels_only(docs, label_map, report.splits["test"])
    windows = encode_split(docs, tokenizer, label_map, config, "test", report)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    predicted = predict_documents(model, docs, windows, label_map, pad_id, config.training.eval_batch_size, order)
    metrics = {"model": str(model_dir), "data": str(test), "test": _scores(gold, predicted)}
    metrics["test_resolved"] = _scores(docs, predicted)  # vs the span-policy-resolved gold: what the policy costs
    metrics["predictions"] = str(_write_predictions(predicted, input_format(config), out / "predictions"))
    metrics["data_report"] = report.splits["test"]
    units = document_rows(gold, predicted)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, ensure_ascii=False))
    (out / "units.json").write_text(json.dumps(units))
    return metrics


def document_rows(gold: list[Document], predicted: list[Document]) -> dict[str, Any]:
    """Per test document the strict counts `[tp, fp, fn]` (all types): the units the study's statistics resample.
    Summed they give exactly the strict micro counts of `evaluate_entities`."""
    by_id = {d.id: d for d in predicted}
    ids, rows = [], []
    for doc in gold:
        counts = strict_counts(doc.spans, by_id[doc.id].spans).values()
        ids.append(doc.id)
        rows.append([sum(c.tp for c in counts), sum(c.fp for c in counts), sum(c.fn for c in counts)])
    return {"columns": ["tp", "fp", "fn"], "ids": ids, "rows": rows}
