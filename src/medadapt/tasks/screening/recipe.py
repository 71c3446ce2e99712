"""Patient-screening recipe, top to bottom: notes → patients → chunks → chunk classifier + pooling → the shared
training loop (selection on dev AUPRC) → threshold on dev → test metrics, CIs, predictions with evidence.

Outputs of one run (`out_dir`, or `out_dir/seed-<n>` per seed with `summary.json` above them):
    best-model/           save_pretrained safetensors chunk classifier + tokenizer + screening.json (pooling,
                          chunking, labels, threshold chosen on dev) [+ screening_pooling.safetensors]
    log.jsonl             per epoch: loss, lr, dev metrics
    data_report.json      patients/notes/labels per split, chunk coverage and caps, down-sampling, loss weights
    metrics.json          dev and test: patient- and note-level metrics, patient-level bootstrap CIs
    predictions/test/     predictions.jsonl (with evidence chunks), predictions.csv, note_predictions.csv
    reliability_test.png  patient-level calibration
    resolved_config.yaml  the config as run, package version, git commit, input file hashes
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from medadapt.config import build_config, write_resolved_config
from medadapt.errors import ConfigError, InputError
from medadapt.loading import LoadSummary, check_model_folder, load_pretrained, load_tokenizer
from medadapt.metrics.stats import auprc_from_rows, auroc_from_rows, bootstrap_ci, mean_sd
from medadapt.tasks.protocol import data_files
from medadapt.tasks.screening.chunks import EncodedPatient, encode_patients
from medadapt.tasks.screening.config import DATA_FIELDS, ScreeningConfig
from medadapt.tasks.screening.data import (
    LabelSpace,
    Patient,
    check_labels,
    downsample,
    group_patients,
    load_splits,
    read_notes,
)
from medadapt.tasks.screening.evaluation import (
    choose_thresholds,
    patient_probabilities,
    split_report,
    targets,
    write_predictions,
    write_reliability,
)
from medadapt.tasks.screening.loss import make_loss
from medadapt.tasks.screening.model import FORMAT_VERSION, ChunkPoolingClassifier, encoder_class, hf_label_config
from medadapt.tasks.screening.scoring import make_collate, score_split
from medadapt.tasks.seeds import training_record
from medadapt.training import process_state, train


def selection_metric(config: ScreeningConfig, space: LabelSpace) -> str:
    """dev metric that picks the best epoch; AUPRC (the default) exists for binary tasks only."""
    metric = config.evaluation.selection_metric
    if space.kind != "binary" and metric == "auprc":
        return "macro_f1"
    return metric


def model_settings(config: ScreeningConfig, space: LabelSpace) -> dict[str, Any]:
    """screening.json: everything prediction needs besides the weights."""
    return {
        "format_version": FORMAT_VERSION,
        "unit": config.unit,
        "labels": space.to_dict(),
        "chunking": config.chunking.model_dump(),
        "pooling": config.pooling.model_dump(),
        "threshold": None,
        "threshold_objective": config.threshold.model_dump(),
        "data_fields": config.data.model_dump(include=set(DATA_FIELDS)),
    }


def build_model(config: ScreeningConfig, space: LabelSpace) -> tuple[ChunkPoolingClassifier, LoadSummary]:
    """The chunk classifier on the pre-trained encoder; and which of its weights start fresh. The one loader
    (`medadapt.loading`) says what went wrong when it does not load."""
    settings = model_settings(config, space)
    encoder, loaded = load_pretrained(encoder_class(settings).from_pretrained, config.model, **hf_label_config(space))
    return ChunkPoolingClassifier(encoder, settings), loaded


def _dev_metrics(
    model: ChunkPoolingClassifier, encoded: list[EncodedPatient], space: LabelSpace, config: ScreeningConfig, pad: int
) -> dict[str, Any]:
    """Patient-level dev metrics at a threshold chosen on dev itself (model selection only)."""
    scores = score_split(model, encoded, pad, config.training.eval_batch_size)
    probabilities = patient_probabilities(scores, space)
    thresholds = choose_thresholds(targets(encoded, space), probabilities, space, config.threshold)
    report = split_report(scores, encoded, space, thresholds, config.evaluation, with_ci=False)["patient"]
    return {k: v for k, v in report.items() if not isinstance(v, dict | list)}


def _require_positives(patients: list[Patient], space: LabelSpace, split: str, source: str) -> None:
    if space.kind == "binary" and not any(p.label == space.positive for p in patients):
        raise InputError(
            source,
            f"the {split} split has no positive patient ({space.positive!r}): no threshold or "
            "AUPRC can be computed; use a larger dev set or data.split",
        )


def run_seed(config: ScreeningConfig, seed: int, out_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """One fine-tuning run with `seed`; returns the contents of its metrics.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = process_state()
    tokenizer = load_tokenizer(config.model)
    splits, space, report = load_splits(config)
    if "dev" not in splits:
        raise ConfigError("screening needs a dev set for model selection and the threshold: set data.dev or data.split")
    _require_positives(splits["dev"], space, "dev", str(report["dev"]["source"]))
    train_patients = splits["train"]
    if config.imbalance.downsample_ratio is not None:
        train_patients = downsample(train_patients, space, config.imbalance.downsample_ratio, seed)
        report["train"]["downsampled_to"] = len(train_patients)
    encoded: dict[str, list[EncodedPatient]] = {}
    for split, patients in (("train", train_patients), *((s, splits[s]) for s in ("dev", "test") if s in splits)):
        encoded[split], chunk_report = encode_patients(patients, tokenizer, config.chunking, space)
        report[split]["chunking"] = chunk_report.to_dict()
    loss_fn, loss_info = make_loss(space, config.imbalance, [e.target for e in encoded["train"]])
    report["loss"] = loss_info
    report["labels"] = space.to_dict()
    if state.is_main_process:
        (out_dir / "data_report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
        write_resolved_config(out_dir, config.model_copy(update={"out_dir": str(out_dir)}), data_files(config))
    torch.manual_seed(seed)  # head and pooling scorers are initialised from the seed
    model, loaded = build_model(config, space)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    metric = selection_metric(config, space)
    result = train(
        model,
        [e.features() for e in encoded["train"]],
        make_collate(pad, space.kind == "multiclass"),
        lambda m: _dev_metrics(m, encoded["dev"], space, config, pad),
        config.training,
        out_dir,
        metric=metric,
        seed=seed,
        loss_fn=loss_fn,
        tokenizer=tokenizer,
        show_progress=show_progress,
        fresh=loaded.fresh_head_parameters(model.encoder),
    )
    best = ChunkPoolingClassifier.from_pretrained(result.best_dir).to(state.device)
    dev_scores = score_split(best, encoded["dev"], pad, config.training.eval_batch_size)
    thresholds = choose_thresholds(
        targets(encoded["dev"], space), patient_probabilities(dev_scores, space), space, config.threshold
    )
    best.settings["threshold"] = thresholds
    if state.is_main_process:  # the operating point travels with the model
        (result.best_dir / "screening.json").write_text(json.dumps(best.settings, indent=1, ensure_ascii=False))
    metrics: dict[str, Any] = training_record(seed, result) | {
        "selection_metric": metric,
        "labels": space.to_dict(),
        "threshold": thresholds,
        "model_load": loaded.to_dict(),
        "dev": split_report(dev_scores, encoded["dev"], space, thresholds, config.evaluation, with_ci=False),
    }
    if "test" in encoded:
        metrics["test"] = evaluate_encoded(best, encoded["test"], space, thresholds, config, out_dir, "test", pad)
    if state.is_main_process:
        (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1, ensure_ascii=False))
    return metrics


def evaluate_encoded(
    model: ChunkPoolingClassifier,
    encoded: list[EncodedPatient],
    space: LabelSpace,
    thresholds: list[float] | None,
    config: ScreeningConfig,
    out_dir: Path,
    name: str,
    pad: int,
) -> dict[str, Any]:
    """Score one split; metrics with CIs, predictions and the reliability plot into `out_dir`.

    Binary tasks also get predictions/<name>/units.json, [label, score] per patient: the units the study's
    bootstrap and the seed-pooled CIs resample, written from the scores in memory rather than re-parsed CSV.
    """
    scores = score_split(model, encoded, pad, config.training.eval_batch_size)
    report = split_report(scores, encoded, space, thresholds, config.evaluation)
    folder = out_dir / "predictions" / name
    report["predictions"] = write_predictions(scores, encoded, space, thresholds, config.evaluation, folder)
    if space.kind == "binary":
        probabilities = patient_probabilities(scores, space)
        units = {
            "columns": ["label", "score"],
            "ids": [e.patient.id for e in encoded],
            "rows": [[float(e.target), float(v)] for e, v in zip(encoded, probabilities[:, 0], strict=True)],
        }
        (folder / "units.json").write_text(json.dumps(units))
        report["predictions"]["units"] = str(folder / "units.json")
    plot = write_reliability(
        scores, encoded, space, out_dir / f"reliability_{name}.png", config.evaluation.calibration_bins
    )
    if plot:
        report["reliability_plot"] = plot
    return report


def _prediction_rows(run_dir: Path) -> np.ndarray:
    """[label, score] per test patient of one seed's run (binary tasks)."""
    units = json.loads((run_dir / "predictions" / "test" / "units.json").read_text())
    return np.asarray(units["rows"], dtype=float)


def summarize(config: ScreeningConfig, per_seed: dict[int, dict[str, Any]], out: Path) -> dict[str, Any]:
    """Mean ± sd over seeds of the test patient metrics, and bootstrap CIs over patients with seeds pooled."""
    summary: dict[str, Any] = {"seeds": list(per_seed)}
    tests = {s: m["test"]["patient"] for s, m in per_seed.items() if "test" in m}
    if not tests:
        return summary
    names = [k for k, v in next(iter(tests.values())).items() if isinstance(v, float | int) and k not in ("n",)]
    summary["test"] = {
        k: mean_sd([float(t[k]) for t in tests.values()]) | {"values": [t[k] for t in tests.values()]}
        for k in names
        if not any(math.isnan(float(t[k])) for t in tests.values())
    }
    first = next(iter(per_seed.values()))
    if first["labels"]["kind"] == "binary" and config.evaluation.bootstrap_resamples:
        rows = np.stack([_prediction_rows(out / f"seed-{s}") for s in tests])
        summary["test_ci_pooled_seeds"] = {
            name: bootstrap_ci(
                rows, metric, n_resamples=config.evaluation.bootstrap_resamples, confidence=config.evaluation.confidence
            )
            for name, metric in (("auroc", auroc_from_rows), ("auprc", auprc_from_rows))
        }
    return summary


def finetune_screening(config: ScreeningConfig, *, show_progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """Fine-tune on every seed (the one multi-seed layout of `medadapt.tasks.seeds`); `resume` keeps seeds that
    finished with the same settings and inputs."""
    from medadapt.tasks.screening.task import SCREENING

    return SCREENING.finetune(config, show_progress=show_progress, resume=resume)


def saved_model_config(
    model_dir: Path,
    settings: dict[str, Any],
    space: LabelSpace,
    data: str | Path,
    fields: dict[str, Any],
    evaluation: dict[str, Any],
    batch_size: int,
) -> ScreeningConfig:
    """The config a saved model reads and chunks notes with: its own chunking, pooling, unit and labels (from
    screening.json), the data fields as trained unless `fields` overrides them."""
    return build_config(
        ScreeningConfig,
        {
            "model": str(model_dir),
            "data": fields | {"train": str(data)},
            "unit": settings["unit"],
            "labels": {
                "kind": space.kind,
                "labels": list(space.labels),
                **({"positive": space.positive} if space.kind == "binary" else {}),
            },
            "chunking": settings["chunking"],
            "pooling": settings["pooling"],
            "evaluation": evaluation,
            "training": {"eval_batch_size": batch_size},
        },
        source=f"{model_dir}/screening.json with --field overrides",
    )


def evaluate_screening(
    model_dir: str | Path,
    data: str | Path,
    out_dir: str | Path,
    *,
    threshold: float | None = None,
    overrides: dict[str, Any] | None = None,
    batch_size: int = 32,
    explain_top_k: int = 3,
    write_text: bool = False,
) -> dict[str, Any]:
    """Score a saved screening model on a labelled file with the model's own chunking, pooling and threshold."""
    check_model_folder(str(model_dir))
    model_dir, out = Path(model_dir), Path(out_dir)
    model = ChunkPoolingClassifier.from_pretrained(model_dir).to(process_state().device)
    settings = model.settings
    space = model.label_space()
    thresholds = [threshold] if threshold is not None else settings.get("threshold")
    if space.kind != "multiclass" and not thresholds:
        raise ConfigError(f"{model_dir}/screening.json has no threshold; pass --threshold")
    fields = settings["data_fields"] | (overrides or {})
    evaluation = {"explain_top_k": explain_top_k, "write_text": write_text}
    config = saved_model_config(model_dir, settings, space, data, fields, evaluation, batch_size)
    tokenizer = load_tokenizer(str(model_dir))
    patients, counts = group_patients(read_notes(data, config.data), config)
    check_labels(patients, space)
    encoded, chunk_report = encode_patients(patients, tokenizer, config.chunking, space)
    out.mkdir(parents=True, exist_ok=True)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    report = evaluate_encoded(model, encoded, space, thresholds, config, out, "eval", pad)
    result = {
        "model": str(model_dir),
        "data": str(data),
        "threshold": thresholds,
        "data_report": counts,
        "chunking": chunk_report.to_dict(),
        "eval": report,
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    if space.kind == "binary":  # the study's statistics read the units at the top of an evaluation folder
        shutil.copyfile(out / "predictions" / "eval" / "units.json", out / "units.json")
    return result
