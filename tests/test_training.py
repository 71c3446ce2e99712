"""The generic fine-tuning loop: batching, early stopping, best-model keeping, the loss hook, no task imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForTokenClassification, BertConfig, BertForTokenClassification

from medadapt.errors import ConfigError
from medadapt.training import TrainingSection, head_parameter_ids, length_grouped_batches, param_groups, train


def _model() -> BertForTokenClassification:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=16, num_labels=3
    )
    return BertForTokenClassification(config)


def _examples(n: int = 24) -> list[dict[str, list[int]]]:
    gen = torch.Generator().manual_seed(1)
    out = []
    for i in range(n):
        length = 4 + i % 7
        ids = torch.randint(5, 30, (length,), generator=gen).tolist()
        out.append({"input_ids": ids, "attention_mask": [1] * length, "labels": [i % 3 for i in ids]})
    return out


def _collate(features: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
    width = max(len(f["input_ids"]) for f in features)
    pads = {"input_ids": 0, "attention_mask": 0, "labels": -100}
    return {k: torch.tensor([f[k] + [p] * (width - len(f[k])) for f in features]) for k, p in pads.items()}


def test_length_grouped_batches_cover_every_example_once_and_depend_only_on_the_seed() -> None:
    lengths = [(i * 37) % 101 for i in range(500)]
    first = length_grouped_batches(lengths, 8, seed=3)
    assert sorted(i for b in first for i in b) == list(range(500))
    assert first == length_grouped_batches(lengths, 8, seed=3)
    assert first != length_grouped_batches(lengths, 8, seed=4)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in first) / len(first)
    random_spread = sum(
        max(lengths[i] for i in b) - min(lengths[i] for i in b)
        for b in length_grouped_batches(lengths, 8, seed=3, group=False)
    ) / len(first)
    assert spread < random_spread / 5  # grouped batches waste far less padding


def test_early_stopping_keeps_the_best_epoch_and_stops_after_patience(tmp_path: Path) -> None:
    scores = iter([0.2, 0.5, 0.4, 0.5, 0.3, 0.9, 0.9])
    saved_at: list[float] = []

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        assert not model.training
        score = next(scores)
        saved_at.append(float(model.classifier.weight.detach().sum()))
        return {"f1": score}

    settings = TrainingSection(epochs=7, batch_size=4, lr=1e-2, early_stopping_patience=3, warmup_ratio=0.0)
    result = train(_model(), _examples(), _collate, evaluate, settings, tmp_path, show_progress=False)
    assert (result.best_epoch, result.epochs_run, result.stopped_early) == (2, 5, True)
    assert result.best_metric == 0.5
    assert result.steps == 5 * 6
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log if "dev" in r] == [1, 2, 3, 4, 5]
    assert log[-1]["event"] == "early_stop"
    assert all({"step", "loss", "lr", "dev"} <= set(r) for r in log if "dev" in r)
    best = AutoModelForTokenClassification.from_pretrained(tmp_path / "best-model")
    assert abs(float(best.classifier.weight.detach().sum()) - saved_at[1]) < 1e-5  # epoch 2's weights, not the last


def test_loss_hook_replaces_the_model_loss(tmp_path: Path) -> None:
    calls: list[tuple[int, ...]] = []

    def loss_fn(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(logits.shape))
        return torch.nn.functional.cross_entropy(logits.reshape(-1, 3), labels.reshape(-1), ignore_index=-100)

    settings = TrainingSection(epochs=1, batch_size=6)
    result = train(
        _model(), _examples(), _collate, lambda m: {"f1": 1.0}, settings, tmp_path, loss_fn=loss_fn, show_progress=False
    )
    assert len(calls) == result.steps == 4
    assert all(len(shape) == 3 and shape[-1] == 3 for shape in calls)


def test_head_lr_gives_the_head_its_own_rate_and_keeps_the_weight_decay_rules() -> None:
    model = _model()
    groups = param_groups(model, 0.01, 1e-5, 1e-3)
    seen = [id(p) for g in groups for p in g["params"]]
    assert sorted(seen) == sorted(id(p) for p in model.parameters())  # every parameter exactly once
    rate = {id(p): g["lr"] for g in groups for p in g["params"]}
    decay = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
    assert rate[id(model.classifier.weight)] == rate[id(model.classifier.bias)] == 1e-3
    assert {rate[id(p)] for p in model.bert.parameters()} == {1e-5}
    assert decay[id(model.classifier.weight)] == 0.01 and decay[id(model.classifier.bias)] == 0.0
    assert decay[id(model.bert.embeddings.LayerNorm.weight)] == 0.0
    assert {g["lr"] for g in param_groups(model, 0.01, 1e-5, None)} == {1e-5}  # no head_lr: one rate


def test_head_lr_finds_the_head_inside_a_wrapper_and_refuses_a_model_without_one() -> None:
    class Wrapper(torch.nn.Module):  # e.g. the screening model: a transformers model plus pooling scorers
        def __init__(self) -> None:
            super().__init__()
            self.encoder = _model()
            self.scorer = torch.nn.Linear(8, 1)

    wrapper = Wrapper()
    expected = {id(p) for p in (*wrapper.encoder.classifier.parameters(), *wrapper.scorer.parameters())}
    assert head_parameter_ids(wrapper) == expected
    with pytest.raises(ConfigError, match="head_lr"):
        head_parameter_ids(torch.nn.Linear(4, 2))


def test_head_lr_reaches_the_optimiser(tmp_path: Path) -> None:
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    settings = TrainingSection(epochs=1, batch_size=6, lr=1e-12, head_lr=1e-2, warmup_ratio=0.0, weight_decay=0.0)
    train(model, _examples(), _collate, lambda m: {"f1": 1.0}, settings, tmp_path, show_progress=False)
    after = model.state_dict()
    moved = {k for k in before if float((after[k] - before[k]).abs().max()) > 1e-6}
    assert moved == {"classifier.weight", "classifier.bias"}


def test_the_loop_imports_no_task_module() -> None:
    code = "import sys, medadapt.training; print([m for m in sys.modules if m.startswith('medadapt.tasks')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    source = Path(sys.modules["medadapt.training"].__file__).read_text()
    assert "medadapt.tasks" not in source and "medadapt.metrics" not in source


def test_pretraining_groups_keep_the_order_its_checkpoints_store() -> None:
    """Exact resume restores AdamW state by group position: decayed matrices first, then the 1-D weights, each in
    `named_parameters` order, with the tied embedding/decoder matrix once — as checkpoints written so far hold."""
    from tests.tiny import tiny_bert

    model = tiny_bert(60)
    groups = param_groups(model, 0.01, 1e-4)
    named = list(model.named_parameters())
    assert [g["weight_decay"] for g in groups] == [0.01, 0.0] and {g["lr"] for g in groups} == {1e-4}
    assert [id(p) for p in groups[0]["params"]] == [id(p) for _, p in named if p.ndim >= 2]
    assert [id(p) for p in groups[1]["params"]] == [id(p) for _, p in named if p.ndim < 2]
    embeddings = model.get_input_embeddings().weight
    assert model.get_output_embeddings().weight is embeddings
    assert sum(p is embeddings for g in groups for p in g["params"]) == 1
