"""The one fine-tuning loop every task uses: epochs of length-grouped batches, dev evaluation, keep the best.

The task supplies everything task-shaped — the model with its head, the examples (feature dicts), the collate
function, an `evaluate_fn(model) -> metrics` and optionally a `loss_fn(logits, labels)` (e.g. class weights) —
and the loop supplies the rest: Accelerate (one CPU, one GPU, DDP under `accelerate launch`), AdamW with linear
warm-up/decay, gradient clipping, per-epoch evaluation, early stopping on one metric, the best model saved with
`save_pretrained` (plus tokenizer) in `out_dir/best-model`, `log.jsonl`, a progress bar and Ctrl-C handling
(finish the step, keep the best model, stop). Nothing here imports a task. The shell around the loop (precision,
the Accelerator, the log writer, the atomic save, parameter groups) is `medadapt.training_shell`, shared with
pre-training.

Batches: examples are shuffled with a generator seeded by (seed, epoch), cut into pools of 50 batches, sorted by
length inside each pool, batched, and the batch order shuffled again — windows of similar length share a batch
so padding is small, yet the order still changes every epoch (the Hugging Face `group_by_length` scheme). Every
process builds the same batch list and takes every `world`-th batch, so N processes see disjoint data.

Evaluation runs on every process with the unwrapped model (tasks' dev sets are small): every process then takes
the same early-stopping decision without communication.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from pydantic import Field
from rich.progress import Progress, TaskID, TextColumn
from transformers import get_scheduler

from medadapt.config import StrictModel
from medadapt.errors import ConfigError
from medadapt.interrupt import StopRequest
from medadapt.progress import make_progress
from medadapt.training_shell import (
    LOG_NAME,
    JsonlLog,
    head_parameter_ids,
    make_accelerator,
    param_groups,
    process_state,
    save_pretrained_atomically,
)

# re-exported: tasks and tests import these from the fine-tuning loop
__all__ = [
    "TrainResult",
    "TrainingSection",
    "enable_checkpointing",
    "head_parameter_ids",
    "length_grouped_batches",
    "param_groups",
    "process_state",
    "train",
]

POOL = 50  # batches per length-sorting pool


class TrainingSection(StrictModel):
    """Optimisation settings shared by every fine-tuning task (the `training:` section of a task config).

    Names are those of pre-training's `training:` section wherever the setting is the same (one vocabulary):
    `learning_rate` (the Hugging Face name, and the one pre-training checkpoints already record), its head's
    `head_learning_rate`, and `batch_size` — per process, as in every loop here: under DDP the global batch is
    batch_size × processes. The old names `lr` and `head_lr` still load (`StrictModel.renamed`).
    """

    renamed: ClassVar[dict[str, str]] = {"lr": "learning_rate", "head_lr": "head_learning_rate"}

    epochs: int = Field(3, ge=1)
    batch_size: int = Field(16, ge=1)  # per process: under DDP the global batch is batch_size × processes
    eval_batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    # the task head's rate (default: learning_rate); see training_shell.head_parameter_ids
    head_learning_rate: float | None = Field(None, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    max_grad_norm: float | None = Field(1.0, gt=0)
    seed: int = 42
    seeds: list[int] | None = None  # several runs, one folder each, and a summary (see the task's runner)
    early_stopping_patience: int | None = Field(None, ge=1)  # epochs without improvement before stopping
    class_weighting: Literal["none", "inverse_sqrt_frequency"] = "none"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    group_by_length: bool = True
    gradient_checkpointing: bool = False  # recompute activations in backward: less memory, ~30% more time

    def seed_list(self) -> list[int]:
        """The seeds to run: `seeds` if given, else the one `seed`."""
        seeds = self.seeds or [self.seed]
        if len(set(seeds)) != len(seeds):
            raise ConfigError(f"training.seeds has duplicates: {seeds}")
        return seeds


@dataclass
class TrainResult:
    best_metric: float
    best_epoch: int  # 0: never improved on the first evaluation (no best model saved)
    epochs_run: int
    steps: int
    best_dir: Path
    stopped_early: bool = False
    interrupted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, seed: int, *, group: bool = True
) -> list[list[int]]:
    """Index batches for one epoch; deterministic in `seed` (see module doc)."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    if group:
        pool = batch_size * POOL
        order = [i for k in range(0, len(order), pool) for i in sorted(order[k : k + pool], key=lambda j: -lengths[j])]
    batches = [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def enable_checkpointing(model: torch.nn.Module) -> None:
    """Activation (gradient) checkpointing under its transformers 5 name, or the 4.x one."""
    for name in ("activation_checkpointing_enable", "gradient_checkpointing_enable"):
        method = getattr(model, name, None)
        if callable(method):
            method()
            return
    raise ConfigError(f"training.gradient_checkpointing: {type(model).__name__} does not support it")


@dataclass
class _Run:
    """One fine-tuning run's moving parts, as set up by `_set_up`."""

    accelerator: Accelerator
    wrapped: torch.nn.Module  # the model as Accelerate prepared it (DDP-wrapped under several processes)
    optimizer: Any
    scheduler: Any
    lengths: list[int]
    steps_per_epoch: int
    log: JsonlLog


def _set_up(
    model: torch.nn.Module,
    examples: Sequence[dict[str, Any]],
    settings: TrainingSection,
    out_dir: Path,
    seed: int,
    fresh: Collection[torch.nn.Parameter],
    history: list[dict[str, Any]],
) -> _Run:
    """Accelerator, seed, output folder and log, AdamW over `param_groups` with the linear schedule."""
    accelerator = make_accelerator(settings.precision)
    set_seed(seed)
    main = accelerator.is_main_process
    log = JsonlLog(out_dir / LOG_NAME, main=main, history=history)
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
    log.start()
    world = accelerator.num_processes
    steps_per_epoch = math.ceil(len(examples) / settings.batch_size) // world
    if steps_per_epoch == 0:
        raise ValueError(f"{len(examples)} training examples are too few for {world} processes")
    total = steps_per_epoch * settings.epochs
    if settings.gradient_checkpointing:
        enable_checkpointing(model)
    groups = param_groups(model, settings.weight_decay, settings.learning_rate, settings.head_learning_rate, fresh)
    optimizer = torch.optim.AdamW(groups, lr=settings.learning_rate)
    scheduler = get_scheduler("linear", optimizer, int(settings.warmup_ratio * total), total)
    wrapped, optimizer = accelerator.prepare(model, optimizer)
    lengths = [len(e["input_ids"]) for e in examples]
    return _Run(accelerator, wrapped, optimizer, scheduler, lengths, steps_per_epoch, log)


def _one_epoch(
    run: _Run,
    epoch: int,
    seed: int,
    examples: Sequence[dict[str, Any]],
    collate: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
    settings: TrainingSection,
    result: TrainResult,
    progress: tuple[Progress, TaskID],
    stop: StopRequest,
) -> float:
    """Train one epoch (or up to a requested stop); returns the mean training loss over all processes."""
    accelerator, wrapped, world = run.accelerator, run.wrapped, run.accelerator.num_processes
    wrapped.train()
    batches = length_grouped_batches(
        run.lengths, settings.batch_size, seed * 1000 + epoch, group=settings.group_by_length
    )
    batches = batches[: run.steps_per_epoch * world][accelerator.process_index :: world]
    loss_sum, done = torch.zeros((), device=accelerator.device), 0
    for indices in batches:
        batch = {k: v.to(accelerator.device) for k, v in collate([examples[i] for i in indices]).items()}
        with accelerator.autocast():
            if loss_fn is None:
                loss = wrapped(**batch).loss
            else:
                labels = batch.pop("labels")
                loss = loss_fn(wrapped(**batch).logits.float(), labels)
        accelerator.backward(loss)
        if settings.max_grad_norm:
            accelerator.clip_grad_norm_(wrapped.parameters(), settings.max_grad_norm)
        run.optimizer.step()
        run.scheduler.step()
        run.optimizer.zero_grad(set_to_none=True)
        result.steps += 1
        done += 1
        loss_sum = loss_sum + loss.detach().float()
        progress[0].update(progress[1], advance=1, loss=float(loss.detach()))
        if stop.requested:
            break
    return float(accelerator.reduce(loss_sum, "mean")) / max(done, 1)


def _evaluate_and_keep(
    run: _Run,
    epoch: int,
    loss: float,
    started: float,
    evaluate_fn: Callable[[torch.nn.Module], dict[str, Any]],
    metric: str,
    tokenizer: Any,
    result: TrainResult,
    progress: tuple[Progress, TaskID],
) -> None:
    """Evaluate on dev, log the epoch, and save the model as the best one when `metric` improved."""
    unwrapped = run.accelerator.unwrap_model(run.wrapped)
    unwrapped.eval()
    with torch.no_grad():
        dev = evaluate_fn(unwrapped)
    score = float(dev[metric])
    improved = score > result.best_metric
    run.log.write(
        {
            "epoch": epoch,
            "step": result.steps,
            "loss": loss,
            "lr": run.scheduler.get_last_lr()[0],
            "seconds": round(time.perf_counter() - started, 3),
            "dev": dev,
            "best": improved,
        }
    )
    progress[0].update(progress[1], dev=f"{metric} {score:.4f}")
    result.epochs_run = epoch
    if improved:
        result.best_metric, result.best_epoch = score, epoch
        _save(run.accelerator, unwrapped, tokenizer, result.best_dir)


def _patience_ran_out(run: _Run, epoch: int, patience: int | None, result: TrainResult) -> bool:
    """Early stopping: `patience` epochs since the best one; logged, and marked on `result`."""
    if patience is None or epoch - result.best_epoch < patience:
        return False
    result.stopped_early = True
    run.log.write({"epoch": epoch, "event": "early_stop", "best_epoch": result.best_epoch})
    return True


def train(
    model: torch.nn.Module,
    examples: Sequence[dict[str, Any]],
    collate: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
    evaluate_fn: Callable[[torch.nn.Module], dict[str, Any]],
    settings: TrainingSection,
    out_dir: str | Path,
    *,
    metric: str = "f1",
    seed: int | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    tokenizer: Any = None,
    show_progress: bool = True,
    fresh: Collection[torch.nn.Parameter] = (),
) -> TrainResult:
    """Fine-tune `model` on `examples`; the best state by `evaluate_fn(model)[metric]` goes to out_dir/best-model.

    `examples` are feature dicts (`collate` pads a list of them into tensors, `labels` included). Without
    `loss_fn` the model's own loss is used; with it, `loss_fn(outputs.logits, labels)`. `fresh`: see
    `param_groups`.
    """
    out_dir = Path(out_dir)
    seed = settings.seed if seed is None else seed
    result = TrainResult(best_metric=-math.inf, best_epoch=0, epochs_run=0, steps=0, best_dir=out_dir / "best-model")
    run = _set_up(model, examples, settings, out_dir, seed, fresh, result.history)
    loss_col = TextColumn("loss {task.fields[loss]:.4f}  dev {task.fields[dev]}")
    with (
        StopRequest("finishing this step; the best model so far is kept") as stop,
        make_progress(loss_col, disable=not (show_progress and run.accelerator.is_main_process)) as bar,
    ):
        progress = (bar, bar.add_task("fine-tuning", total=run.steps_per_epoch * settings.epochs, loss=0.0, dev="-"))
        for epoch in range(1, settings.epochs + 1):
            started = time.perf_counter()
            loss = _one_epoch(run, epoch, seed, examples, collate, loss_fn, settings, result, progress, stop)
            _evaluate_and_keep(run, epoch, loss, started, evaluate_fn, metric, tokenizer, result, progress)
            if stop.requested:
                result.interrupted = True
                break
            if _patience_ran_out(run, epoch, settings.early_stopping_patience, result):
                break
    if result.best_epoch == 0:  # the metric was never a number (NaN): keep the last model rather than none
        _save(run.accelerator, run.accelerator.unwrap_model(run.wrapped), tokenizer, result.best_dir)
    run.accelerator.wait_for_everyone()
    return result


def _save(accelerator: Accelerator, model: torch.nn.Module, tokenizer: Any, target: Path) -> None:
    """The model (and tokenizer) saved atomically by the main process; every process waits for it."""
    if accelerator.is_main_process:
        save_pretrained_atomically(model, tokenizer, target)
    accelerator.wait_for_everyone()
