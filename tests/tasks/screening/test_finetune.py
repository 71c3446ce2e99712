"""Screening end to end with a tiny BERT on a keyword task whose evidence lies beyond the first chunk.

Windows + max pooling must solve it (dev AUROC near 1) while head-only truncation cannot see the evidence; the
threshold must reach the target sensitivity on dev; reported metrics must equal scikit-learn on the written
predictions; the saved folder must load in plain transformers; `evaluate screening` must reproduce the test run.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

from medadapt.cli import main
from medadapt.config import build_config
from medadapt.tasks.screening.config import ScreeningConfig
from medadapt.tasks.screening.model import ChunkPoolingClassifier
from medadapt.tasks.screening.recipe import finetune_screening
from tests.screening_data import write_model, write_task

TRAINING = {"epochs": 14, "lr": 3e-3, "batch_size": 8, "early_stopping_patience": 4, "seed": 1}


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    root = tmp_path_factory.mktemp("screening")
    return write_task(root / "data", n_train=120), write_model(root / "model"), root


def _config(task, out: Path, **sections) -> ScreeningConfig:
    paths, model, _ = task
    data = {
        "model": model,
        "data": paths,
        "chunking": {"max_length": 32, "stride": 4},
        "training": TRAINING,
        "evaluation": {"bootstrap_resamples": 200},
        "out_dir": str(out),
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return build_config(ScreeningConfig, data)


@pytest.fixture(scope="module")
def windows_run(task):
    config = _config(task, task[2] / "windows")
    return config, finetune_screening(config, show_progress=False)


def test_windows_solve_what_head_truncation_cannot(task, windows_run):
    _, metrics = windows_run
    assert metrics["test"]["patient"]["auroc"] >= 0.9
    head = finetune_screening(
        _config(task, task[2] / "head", chunking={"strategy": "head"}, training={"epochs": 4}), show_progress=False
    )
    assert head["test"]["patient"]["auroc"] < metrics["test"]["patient"]["auroc"] - 0.2
    ci = metrics["test"]["patient_ci"]["auroc"]
    assert ci["low"] <= metrics["test"]["patient"]["auroc"] <= ci["high"]


def test_threshold_hits_target_sensitivity_on_dev_and_travels_with_the_model(windows_run):
    config, metrics = windows_run
    dev = metrics["dev"]["patient"]
    assert dev["sensitivity"] >= 0.95
    stored = json.loads((Path(config.out_dir) / "best-model" / "screening.json").read_text())
    assert stored["threshold"] == metrics["threshold"] == [dev["threshold"]]


def test_reported_metrics_equal_sklearn_on_written_predictions(windows_run):
    config, metrics = windows_run
    with open(Path(config.out_dir) / "predictions" / "test" / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    y = np.array([r["gold"] == "1" for r in rows], dtype=int)
    s = np.array([float(r["score_1"]) for r in rows])
    patient = metrics["test"]["patient"]
    assert patient["auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-6)
    assert patient["auprc"] == pytest.approx(average_precision_score(y, s), abs=1e-6)
    flagged = s >= patient["threshold"] - 1e-6
    assert patient["tp"] == int((flagged & (y == 1)).sum()) and patient["fp"] == int((flagged & (y == 0)).sum())
    assert (Path(config.out_dir) / "reliability_test.png").stat().st_size > 1000
    units = json.loads((Path(config.out_dir) / "predictions" / "test" / "units.json").read_text())
    assert units["ids"] == [r["patient_id"] for r in rows]
    np.testing.assert_allclose(np.asarray(units["rows"]), np.column_stack([y, s]), atol=1e-6)


def test_evidence_points_at_the_indicator_without_text(windows_run):
    config, _ = windows_run
    paths = config.data
    notes = {json.loads(line)["id"]: json.loads(line) for line in Path(paths.test).read_text().splitlines()}
    lines = (Path(config.out_dir) / "predictions" / "test" / "predictions.jsonl").read_text().splitlines()
    hits = 0
    for record in map(json.loads, lines):
        assert "text" not in json.dumps(record.get("evidence", {}))
        if record["gold"] == "1" and "evidence" in record:
            top = record["evidence"]["1"][0]
            text = notes[top["note_id"]]["text"]
            hits += any("herpeszoster" in text[a:b] for a, b in top["char_ranges"])
    assert hits >= 4


def test_saved_model_loads_in_plain_transformers_and_evaluate_reproduces(windows_run, tmp_path):
    config, metrics = windows_run
    best = Path(config.out_dir) / "best-model"
    plain = AutoModelForSequenceClassification.from_pretrained(best)
    assert plain.config.num_labels == 1 and plain.config.id2label[0] == "1"
    ours = ChunkPoolingClassifier.from_pretrained(best)
    for (name, a), b in zip(plain.state_dict().items(), ours.encoder.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    out = tmp_path / "eval"
    main(["evaluate", "screening", "--model", str(best), "--data", config.data.test, "--out", str(out)])
    evaluated = json.loads((out / "metrics.json").read_text())["eval"]["patient"]
    for key in ("auroc", "auprc", "sensitivity", "specificity", "threshold"):
        assert evaluated[key] == pytest.approx(metrics["test"]["patient"][key], abs=1e-6)


@pytest.mark.parametrize(
    "pooling",
    [
        {"chunk_to_note": "attention", "note_to_patient": "attention"},
        {"chunk_to_note": "mean"},
        {"chunk_to_note": "lse", "note_to_patient": "lse", "lse_sharpness": 2.0},
    ],
)
def test_other_poolings_and_losses_run_and_save(task, tmp_path, pooling):
    config = _config(
        task,
        tmp_path / "run",
        pooling=pooling,
        imbalance={"loss": "focal", "downsample_ratio": 1.0},
        training={"epochs": 1, "seeds": [1, 2]},
    )
    summary = finetune_screening(config, show_progress=False)
    assert set(summary["runs"]) == {"1", "2"} and "auroc" in summary["test"]
    assert summary["test_ci_pooled_seeds"]["auroc"]["low"] <= summary["test_ci_pooled_seeds"]["auroc"]["high"]
    report = json.loads((tmp_path / "run" / "seed-1" / "data_report.json").read_text())
    assert report["train"]["downsampled_to"] == 2 * report["train"]["labels"]["1"]
    model = ChunkPoolingClassifier.from_pretrained(tmp_path / "run" / "seed-1" / "best-model")
    assert (model.chunk_scorer is not None) == (pooling["chunk_to_note"] == "attention")
    assert model.settings["pooling"] == config.pooling.model_dump()  # the saved model pools as it was trained


def test_token_pooled_chunks_learn_save_as_token_classifier_and_evaluate_the_same(task, tmp_path):
    config = _config(task, tmp_path / "token", pooling={"token_to_chunk": "max"}, training={"epochs": 6, "lr": 1e-3})
    metrics = finetune_screening(config, show_progress=False)
    assert metrics["test"]["patient"]["auroc"] >= 0.9
    best = tmp_path / "token" / "best-model"
    plain = AutoModelForTokenClassification.from_pretrained(best)  # a plain transformers token classifier
    ours = ChunkPoolingClassifier.from_pretrained(best)
    assert ours.settings["pooling"]["token_to_chunk"] == "max"
    for (name, a), b in zip(plain.state_dict().items(), ours.encoder.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    main(["evaluate", "screening", "--model", str(best), "--data", config.data.test, "--out", str(tmp_path / "ev")])
    evaluated = json.loads((tmp_path / "ev" / "metrics.json").read_text())["eval"]["patient"]
    assert evaluated["auroc"] == pytest.approx(metrics["test"]["patient"]["auroc"], abs=1e-6)


def test_multiclass_task_through_the_cli(task, tmp_path):
    paths, model, _ = task
    data = tmp_path / "data"
    data.mkdir()
    for split, path in paths.items():
        records = [json.loads(line) for line in Path(path).read_text().splitlines()]
        for r in records:  # three classes: the indicator class, and the negatives split by patient number
            r["label"] = "ind" if r["label"] == "1" else ("a" if int(r["patient_id"].split("P")[1]) % 2 else "b")
        (data / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "model": model,
                "data": {s: str(data / f"{s}.jsonl") for s in paths},
                "chunking": {"max_length": 32, "stride": 4},
                "training": {"epochs": 1, "batch_size": 8},
            }
        )
    )
    main(["finetune", "screening", str(config), "--out", str(tmp_path / "out"), "--no-progress"])
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["labels"]["kind"] == "multiclass" and metrics["selection_metric"] == "macro_f1"
    assert "classifier.weight" in metrics["model_load"]["fresh_head"] and not metrics["model_load"]["fresh_encoder"]
    assert set(metrics["test"]["patient"]["per_class"]) == {"a", "b", "ind"}


def test_multilabel_task_trains_with_per_label_thresholds(task, tmp_path):
    paths, model, _ = task
    data = {}
    for split, path in paths.items():
        records = [json.loads(line) for line in Path(path).read_text().splitlines()]
        for r in records:  # label "ind" for the indicator, and "odd" for odd-numbered patients
            odd = int(r["patient_id"].split("P")[1]) % 2
            r["label"] = "|".join(x for x, on in (("ind", r["label"] == "1"), ("odd", odd)) if on) or "none"
        data[split] = str(tmp_path / f"{split}.jsonl")
        Path(data[split]).write_text("".join(json.dumps(r) + "\n" for r in records))
    config = build_config(
        ScreeningConfig,
        {
            "model": model,
            "data": data,
            "labels": {"kind": "multilabel"},
            "chunking": {"max_length": 32, "stride": 4},
            "training": {"epochs": 1, "batch_size": 8},
            "out_dir": str(tmp_path / "out"),
        },
    )
    metrics = finetune_screening(config, show_progress=False)
    assert metrics["labels"] == {"kind": "multilabel", "labels": ["ind", "none", "odd"]}
    assert len(metrics["threshold"]) == 3 and set(metrics["test"]["patient"]["per_label"]) == {"ind", "none", "odd"}


def test_gradient_checkpointing_gives_the_same_training(task, tmp_path):
    losses = {}
    for flag in (False, True):
        config = _config(task, tmp_path / str(flag), training={"epochs": 1, "gradient_checkpointing": flag})
        finetune_screening(config, show_progress=False)
        log = [json.loads(line) for line in (tmp_path / str(flag) / "log.jsonl").read_text().splitlines()]
        losses[flag] = log[0]["loss"]
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)


def test_the_task_predictor_scores_unlabelled_notes_as_evaluation_does(windows_run):
    """`SCREENING.load(best-model).predict(notes)` — the protocol's prediction path, for notes without labels —
    gives every test patient the score, decision and evidence of the run's own test predictions."""
    from medadapt.io import read_documents
    from medadapt.tasks.registry import get_task

    config, _ = windows_run
    out = Path(config.out_dir)
    written = {
        r["patient_id"]: r
        for r in map(json.loads, (out / "predictions" / "test" / "predictions.jsonl").read_text().splitlines())
    }
    notes = [
        replace(d, label=None)
        for d in read_documents(config.data.test, "jsonl", id_field="id", group_field="patient_id")
    ]
    records = get_task("screening").load(out / "best-model").predict(notes)
    assert {r["patient_id"] for r in records} == set(written)
    for record in records:
        expected = written[record["patient_id"]]
        assert "gold" not in record
        assert record["scores"] == pytest.approx(expected["scores"], abs=1e-5)
        assert record["predicted"] == expected["predicted"]
        assert record.get("evidence", {}).keys() == expected.get("evidence", {}).keys()
