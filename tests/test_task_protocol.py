"""The task protocol is the whole seam: a third task defined here, in a few functions, runs through `study run` and
`study report` with no change to study/ or commands/; the built-in tasks answer the same questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import Field

from medadapt.cli import main
from medadapt.config import StrictModel, build_config, write_resolved_config
from medadapt.documents import Document
from medadapt.io import read_documents
from medadapt.tasks.protocol import Predictor, Task
from medadapt.tasks.registry import get_task, register, task_names, unregister

# ---------------------------------------------------------------- a toy task: is a sentence longer than k words?


class LengthData(StrictModel):
    train: str
    dev: str | None = None
    test: str | None = None
    format: str = "jsonl"


class LengthTraining(StrictModel):
    seed: int = 0
    seeds: list[int] | None = None


class LengthConfig(StrictModel):
    model: str
    data: LengthData
    training: LengthTraining = LengthTraining()
    out_dir: str = "runs/length"
    slack: int = Field(0, ge=0)  # a setting a study can vary

    def seed_list(self) -> list[int]:
        return self.training.seeds or [self.training.seed]


def _docs(path: str) -> list[Document]:
    return list(read_documents(path, "jsonl"))


def _words(doc: Document) -> int:
    return len(doc.text.split())


def _save_model(folder: Path, threshold: float) -> None:
    """A 'model': the learned threshold in config.json and a weights file, as a save_pretrained folder has."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"threshold": threshold}))
    save_file({"threshold": np.asarray([threshold], dtype=np.float32)}, str(folder / "model.safetensors"))


def _finetune_seed(config: LengthConfig, seed: int, out_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """'Training': the word count between the classes' means, shifted by the start model's bias and the seed."""
    bias = json.loads((Path(config.model) / "config.json").read_text())["bias"]
    train = _docs(config.data.train)
    long = [_words(d) for d in train if d.label == "long"]
    short = [_words(d) for d in train if d.label == "short"]
    threshold = (np.mean(long) + np.mean(short)) / 2 + bias + config.slack + 0.1 * seed
    _save_model(out_dir / "best-model", threshold)
    write_resolved_config(out_dir, config)
    metrics = {"seed": seed, "best_epoch": 1, "epochs_run": 1, "interrupted": False, "threshold": threshold}
    (out_dir / "metrics.json").write_text(json.dumps(metrics))
    return metrics


class LengthPredictor:
    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self.threshold = json.loads((model_dir / "config.json").read_text())["threshold"]

    def predict(self, documents: list[Document]) -> list[dict[str, Any]]:
        return [
            {"id": d.id, "long": _words(d) > self.threshold, "score": _words(d) - self.threshold} for d in documents
        ]


def _evaluate(settings: dict[str, Any], model_dir: Path, data: str, out_dir: Path) -> dict[str, float]:
    predictor = LengthPredictor(model_dir)
    gold = _docs(data)
    predicted = predictor.predict(gold)
    rows = [[float(d.label == "long"), float(p["long"])] for d, p in zip(gold, predicted, strict=True)]
    units = {"columns": ["gold", "predicted"], "ids": [d.id for d in gold], "rows": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "units.json").write_text(json.dumps(units))
    numbers = {"accuracy": _accuracy(np.asarray(rows))}
    (out_dir / "metrics.json").write_text(json.dumps(numbers))
    return numbers


def _accuracy(rows: np.ndarray) -> float:
    return float(np.mean(rows[:, 0] == rows[:, 1]))


LENGTH = Task(
    name="length",
    description="is a sentence longer than the learned number of words",
    config_class=lambda: LengthConfig,
    headline_metric="accuracy",
    unit_metrics={"accuracy": _accuracy},
    finetune_seed=_finetune_seed,
    summarize=lambda config, per_seed, out: {"seeds": list(per_seed)},
    result_lines=lambda result: [f"threshold {result.get('threshold')}"],
    load=lambda model_dir: LengthPredictor(Path(model_dir)),
    evaluation_config=lambda settings, model_dir, data: (LengthData, {"train": data}),
    evaluate=_evaluate,
    read_documents=lambda settings, path: _docs(path),
    dev_score=lambda dev: float(dev["accuracy"]),
)


@pytest.fixture
def length_task() -> Any:
    register(LENGTH)
    yield LENGTH
    unregister("length")


def _write_split(path: Path, n: int, offset: int) -> str:
    lines = []
    for i in range(n):
        words = 3 + (i * 7 + offset) % 10
        label = "long" if words > 7 else "short"
        lines.append(json.dumps({"id": f"s{i}", "text": " ".join(["word"] * words), "label": label}))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _write_study(root: Path) -> Path:
    for name, bias in (("plain", 0.0), ("shifted", 2.5)):
        (root / name).mkdir(parents=True)
        (root / name / "config.json").write_text(json.dumps({"bias": bias}))
    data = {split: _write_split(root / f"{split}.jsonl", n, k) for split, n, k in (("train", 40, 0), ("test", 30, 3))}
    study = {
        "name": "toy",
        "base": "plain",
        "models": {"plain": {"path": str(root / "plain")}, "shifted": {"path": str(root / "shifted")}},
        "tasks": {"sentences": {"type": "length", "languages": {"en": data}}},
        "seeds": [1, 2],
        "statistics": {"bootstrap_resamples": 50, "permutations": 50},
        "out_dir": str(root / "out"),
    }
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def test_a_task_defined_outside_medadapt_runs_through_study_run_and_report(length_task, tmp_path: Path) -> None:
    study = _write_study(tmp_path)
    assert main(["study", "run", str(study), "--no-report"]) == 0
    assert main(["study", "report", str(tmp_path / "out")]) == 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "sentences (en) accuracy" in report
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    cells = {c["model"]: c for c in analysis["cells"]}
    plain = [json.loads(p.read_text())["accuracy"] for p in sorted((tmp_path / "out").rglob("eval/en/metrics.json"))]
    assert len(plain) == 4  # 2 models × 2 seeds
    assert cells["plain"]["seed_mean"] > cells["shifted"]["seed_mean"]  # the shifted start model is worse
    assert main(["study", "run", str(study), "--no-report"]) == 0  # rerun: everything is done already


def test_a_task_type_the_registry_does_not_know_is_one_clear_error(tmp_path: Path, capsys) -> None:
    study = _write_study(tmp_path)
    assert main(["study", "run", str(study), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "unknown task type 'length'; known: ner, screening" in err


def test_every_built_in_task_answers_the_protocol() -> None:
    assert {"ner", "screening"} <= set(task_names())
    for name in ("ner", "screening"):
        task = get_task(name)
        assert task.name == name
        assert task.headline_metric in task.unit_metrics
        assert issubclass(task.config_class(), StrictModel)


def test_a_registered_task_gets_its_own_finetune_command(length_task, tmp_path: Path, capsys) -> None:
    """`medadapt finetune <task>` is built from the registry when the CLI is built."""
    import importlib

    import medadapt.cli
    import medadapt.commands.finetune

    importlib.reload(medadapt.commands.finetune)
    importlib.reload(medadapt.cli)
    try:
        (tmp_path / "m").mkdir()
        (tmp_path / "m" / "config.json").write_text(json.dumps({"bias": 0.0}))
        config = tmp_path / "length.yaml"
        train = _write_split(tmp_path / "train.jsonl", 20, 0)
        config.write_text(yaml.safe_dump({"model": str(tmp_path / "m"), "data": {"train": train}}))
        out = tmp_path / "run"
        assert medadapt.cli.main(["finetune", "length", str(config), "--out", str(out)]) == 0
        assert "threshold 7.5" in capsys.readouterr().err
        predictor = get_task("length").load(out / "best-model")
        assert isinstance(predictor, Predictor)
        assert predictor.predict([Document("x", "a b c d e f g h i j k l")])[0]["long"] is True
    finally:
        unregister("length")
        importlib.reload(medadapt.commands.finetune)
        importlib.reload(medadapt.cli)


def test_config_built_for_the_toy_task_is_strict() -> None:
    with pytest.raises(Exception, match="nonexistent"):
        build_config(LengthConfig, {"model": "m", "data": {"train": "t"}, "nonexistent": 1})
