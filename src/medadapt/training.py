"""The one fine-tuning loop every task uses: epochs of length-grouped batches, dev evaluation, keep the best.

The task supplies everything task-shaped — the model with its head, the examples (feature dicts), the collate
function, an `evaluate_fn(model) -> metrics` and optionally a `loss_fn(logits, labels)` (e.g. class weights) —
and the loop supplies the rest: Accelerate (one CPU, one GPU, DDP under `accelerate launch`), AdamW with linear
warm-up/decay, gradient clipping, per-epoch evaluation, early stopping on one metric, the best model saved with
`save_pretrained` (plus tokenizer) in `out_dir/best-model`, `log.jsonl`, a progress bar and Ctrl-C handling
(finish the step, keep the best model, stop). Nothing here imports a task.

Batches: examples are shuffled with a generator seeded by (seed, epoch), cut into pools of 50 batches, sorted by
length inside each pool, batched, and the batch order shuffled again — windows of similar length share a batch
so padding is small, yet the order still changes every epoch (the Hugging Face `group_by_length` scheme). Every
process builds the same batch list and takes every `world`-th batch, so N processes see disjoint data.

Evaluation runs on every process with the unwrapped model (tasks' dev sets are small): every process then takes
the same early-stopping decision without communication.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from accelerate import Accelerator, PartialState
from accelerate.utils import set_seed
from pydantic import Field
from rich.progress import TextColumn
from transformers import get_scheduler

from medadapt.config import StrictModel
from medadapt.errors import ConfigError
from medadapt.interrupt import StopRequest
from medadapt.progress import make_progress

POOL = 50  # batches per length-sorting pool


class TrainingSection(StrictModel):
    """Optimisation settings shared by every fine-tuning task (the `training:` section of a task config)."""

    epochs: int = Field(3, ge=1)
    batch_size: int = Field(16, ge=1)  # per process: under DDP the global batch is batch_size × processes
    eval_batch_size: int = Field(32, ge=1)
    lr: float = Field(5e-5, gt=0)
    head_lr: float | None = Field(None, gt=0)  # the task head's rate (default: lr); see head_parameter_ids
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


def process_state() -> PartialState:
    """This process's place in the run (main or not, device). Tasks must use this, not a bare `PartialState()`:
    the first state created wins, and on CPU only `cpu=True` lets Accelerate join torchrun's gloo group."""
    return PartialState(cpu=not torch.cuda.is_available())


def enable_checkpointing(model: torch.nn.Module) -> None:
    """Activation (gradient) checkpointing under its transformers 5 name, or the 4.x one."""
    for name in ("activation_checkpointing_enable", "gradient_checkpointing_enable"):
        method = getattr(model, name, None)
        if callable(method):
            method()
            return
    raise ConfigError(f"training.gradient_checkpointing: {type(model).__name__} does not support it")


def _precision(setting: str) -> str:
    if setting == "fp32" or (setting == "auto" and not torch.cuda.is_available()):
        return "no"
    if setting == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return setting


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
        f"training.head_lr: {type(model).__name__} has no transformers model with a separate head inside, "
        "so there is no head to give its own learning rate"
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
    process_state()  # the shared state, created with the CPU flag (see process_state)
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision=_precision(settings.precision))
    set_seed(seed)
    main = accelerator.is_main_process
    best_dir = out_dir / "best-model"
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "log.jsonl").write_text("")
    world, rank = accelerator.num_processes, accelerator.process_index
    lengths = [len(e["input_ids"]) for e in examples]
    steps_per_epoch = math.ceil(len(examples) / settings.batch_size) // world
    if steps_per_epoch == 0:
        raise ValueError(f"{len(examples)} training examples are too few for {world} processes")
    total = steps_per_epoch * settings.epochs
    if settings.gradient_checkpointing:
        enable_checkpointing(model)
    groups = param_groups(model, settings.weight_decay, settings.lr, settings.head_lr, fresh)
    optimizer = torch.optim.AdamW(groups, lr=settings.lr)
    scheduler = get_scheduler("linear", optimizer, int(settings.warmup_ratio * total), total)
    wrapped, optimizer = accelerator.prepare(model, optimizer)
    result = TrainResult(best_metric=-math.inf, best_epoch=0, epochs_run=0, steps=0, best_dir=best_dir)

    def log(record: dict[str, Any]) -> None:
        result.history.append(record)
        if main:
            with open(out_dir / "log.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    loss_col = TextColumn("loss {task.fields[loss]:.4f}  dev {task.fields[dev]}")
    bar_off = not (show_progress and main)
    with (
        StopRequest("finishing this step; the best model so far is kept") as stop,
        make_progress(loss_col, disable=bar_off) as bar,
    ):
        task = bar.add_task("fine-tuning", total=total, loss=0.0, dev="-")
        for epoch in range(1, settings.epochs + 1):
            wrapped.train()
            batches = length_grouped_batches(
                lengths, settings.batch_size, seed * 1000 + epoch, group=settings.group_by_length
            )
            batches = batches[: steps_per_epoch * world][rank::world]
            started, loss_sum, done = time.perf_counter(), torch.zeros((), device=accelerator.device), 0
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
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                result.steps += 1
                done += 1
                loss_sum = loss_sum + loss.detach().float()
                bar.update(task, advance=1, loss=float(loss.detach()))
                if stop.requested:
                    break
            unwrapped = accelerator.unwrap_model(wrapped)
            unwrapped.eval()
            with torch.no_grad():
                dev = evaluate_fn(unwrapped)
            score = float(dev[metric])
            improved = score > result.best_metric
            record = {
                "epoch": epoch,
                "step": result.steps,
                "loss": float(accelerator.reduce(loss_sum, "mean")) / max(done, 1),
                "lr": scheduler.get_last_lr()[0],
                "seconds": round(time.perf_counter() - started, 3),
                "dev": dev,
                "best": improved,
            }
            log(record)
            bar.update(task, dev=f"{metric} {score:.4f}")
            result.epochs_run = epoch
            if improved:
                result.best_metric, result.best_epoch = score, epoch
                _save(accelerator, unwrapped, tokenizer, best_dir)
            if stop.requested:
                result.interrupted = True
                break
            patience = settings.early_stopping_patience
            if patience is not None and epoch - result.best_epoch >= patience:
                result.stopped_early = True
                log({"epoch": epoch, "event": "early_stop", "best_epoch": result.best_epoch})
                break
    if result.best_epoch == 0:  # the metric was never a number (NaN): keep the last model rather than none
        _save(accelerator, accelerator.unwrap_model(wrapped), tokenizer, best_dir)
    accelerator.wait_for_everyone()
    return result


def _save(accelerator: Accelerator, model: torch.nn.Module, tokenizer: Any, target: Path) -> None:
    """`save_pretrained` (safetensors) into a temp folder, renamed into place: a crash never leaves half a model."""
    if accelerator.is_main_process:
        tmp = target.with_name(f".tmp-{target.name}")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp, safe_serialization=True)  # type: ignore[attr-defined]
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    accelerator.wait_for_everyone()
