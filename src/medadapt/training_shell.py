"""What both training loops stand in: precision, the Accelerator, `log.jsonl`, the atomic model save, parameter groups.

Two loops, rightly: fine-tuning (`medadapt.training`: epochs, dev evaluation, early stopping) and pre-training
(`medadapt.pretrain.loop`: steps, checkpoints, exact resume). Around each sits the same shell, kept here once so
the two cannot drift: how a `precision` setting becomes Accelerate's `mixed_precision`, how the Accelerator is
created (on CPU `cpu=True`, so several gloo processes can run under torchrun), how a run's log is written, how a
trained model is saved so that a crash never leaves half of one, and how parameters are grouped for AdamW (an
order every pre-training checkpoint stores). Nothing here knows a task or a loop.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator, PartialState

from medadapt.errors import ConfigError

LOG_NAME = "log.jsonl"


def resolve_precision(setting: str, *, cuda: bool | None = None, bf16: bool | None = None) -> str:
    """Accelerate's `mixed_precision` for a config's `precision`: "no", "bf16" or "fp16".

    `auto` is full precision on CPU (autocast there is slower, not faster) and, on a GPU, bf16 where the card has
    it (the range of fp32, no loss scaling) else fp16. `cuda`/`bf16` default to what this machine has.
    """
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if setting == "fp32" or (setting == "auto" and not cuda):
        return "no"
    if setting == "auto":
        has_bf16 = torch.cuda.is_bf16_supported() if bf16 is None else bf16
        return "bf16" if has_bf16 else "fp16"
    return setting


def process_state() -> PartialState:
    """This process's place in the run (main or not, device). Tasks must use this, not a bare `PartialState()`:
    the first state created wins, and on CPU only `cpu=True` lets Accelerate join torchrun's gloo group."""
    return PartialState(cpu=not torch.cuda.is_available())


def make_accelerator(precision: str, *, dynamo_backend: str | None = None) -> Accelerator:
    """The run's Accelerator: one CPU, one GPU, or DDP under `accelerate launch` / torchrun.

    `dynamo_backend` is passed only when given (pre-training's `compile`), so fine-tuning keeps Accelerate's own
    default for it.
    """
    process_state()  # the shared state, created with the CPU flag (see process_state)
    extra = {} if dynamo_backend is None else {"dynamo_backend": dynamo_backend}
    return Accelerator(cpu=not torch.cuda.is_available(), mixed_precision=resolve_precision(precision), **extra)


class JsonlLog:
    """A run's `log.jsonl`: one JSON record per line, appended as the run goes.

    Every process keeps the records in `history` (the loops return or plot them); only the main process writes
    the file, so N processes do not interleave N copies.
    """

    def __init__(self, path: Path, *, main: bool, history: list[dict[str, Any]] | None = None):
        self.path = path
        self.main = main
        self.history = [] if history is None else history

    def start(self) -> None:
        """An empty log (a new run)."""
        if self.main:
            self.path.write_text("")

    def write(self, record: dict[str, Any]) -> None:
        self.history.append(record)
        if self.main:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def replace(self, records: Iterable[dict[str, Any]]) -> None:
        """The log is `records` and nothing else (a resumed run drops what came after its checkpoint)."""
        self.history[:] = list(records)
        if self.main:
            self.path.write_text("".join(json.dumps(r) + "\n" for r in self.history), encoding="utf-8")


def save_pretrained_atomically(model: Any, tokenizer: Any, target: Path) -> Path:
    """`save_pretrained` (safetensors, plus the tokenizer when given) into `.tmp-<name>` beside `target`, renamed
    into place when complete.

    Why: a kill or a full disk mid-save must not leave a `target` that has its config.json — what "is there a
    model?" checks look for — but truncated weights. A failed save leaves the previous `target` (or none) and at
    most the temp folder, which the next save removes. Call it from the main process only.
    """
    tmp = target.with_name(f".tmp-{target.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def head_parameter_ids(model: torch.nn.Module) -> set[int]:
    """The ids of the parameters outside the pre-trained body: the freshly initialised task head (a
    `...ForTokenClassification`'s classifier, a screening model's pooling scorers).

    Why a separate rate: a fresh head on a small task learns slowly at an encoder's fine-tuning rate (1e-5 -
    1e-4), and until it points somewhere the encoder gets little useful gradient — the long loss plateau measured
    on screening (BENCHMARKS.md). The body is found as the first `PreTrainedModel` inside `model` whose
    `base_model` is a proper submodule, so wrappers around a transformers model work too.
    """
    from transformers import PreTrainedModel

    for module in model.modules():
        if isinstance(module, PreTrainedModel) and module.base_model is not module:
            body = {id(p) for p in module.base_model.parameters()}
            return {id(p) for p in model.parameters() if id(p) not in body}
    raise ConfigError(
        f"training.head_learning_rate (formerly head_lr): {type(model).__name__} has no transformers model with a "
        "separate head inside, so there is no head to give its own learning rate"
    )


def param_groups(
    model: torch.nn.Module,
    weight_decay: float,
    lr: float,
    head_lr: float | None = None,
    fresh: Collection[torch.nn.Parameter] = (),
) -> list[dict[str, Any]]:
    """No weight decay on biases and normalisation weights (the BERT recipe); the head at `head_lr` if given.

    `fresh`: parameters inside the body that the checkpoint lacked (a sequence classifier's pooler on a
    masked-LM save, from `LoadSummary.fresh_head_parameters`); they start as random as the head and get its rate.

    Shared by fine-tuning and pre-training. The group order (body before head, decayed before not) is part of
    every pre-training checkpoint — the optimizer state is stored per group position — so it must not change.
    Tied weights (embeddings and MLM decoder) appear once: `named_parameters` skips repeats.
    """
    head = head_parameter_ids(model) | {id(p) for p in fresh} if head_lr is not None else set()
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            decays = not (param.ndim < 2 or "norm" in name.lower())
            groups.setdefault((id(param) in head, not decays), []).append(param)
    return [
        {"params": params, "weight_decay": 0.0 if no_decay else weight_decay, "lr": head_lr if in_head else lr}
        for (in_head, no_decay), params in sorted(groups.items())
    ]
