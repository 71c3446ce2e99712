"""The pre-training recipe, top to bottom: set up → (resume) → train with periodic eval/checkpoints → save.

Exactness by construction: which blocks a step reads (the mixer), which tokens it masks (a generator seeded by
(seed, step, micro-step)) and how the loss is normalised (summed CE divided by the number of masked tokens of
the whole global step) depend only on the step number — not on the number of processes or on whether the run
was interrupted. Every process builds the same global batch and trains on its slice, so 1 and N processes at
the same global batch compute the same loss, and a resumed run continues the uninterrupted one to float
precision. The remaining state (weights, AdamW moments, schedule, dropout RNG) is in the checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import DistributedType, set_seed
from rich.markup import escape
from rich.progress import TextColumn
from transformers import get_scheduler

from medadapt.config import write_resolved_config
from medadapt.errors import ConfigError, MedadaptError
from medadapt.interrupt import StopRequest
from medadapt.io.files import move_aside
from medadapt.pretrain.checkpoint import latest_valid_checkpoint, load_checkpoint, save_checkpoint
from medadapt.pretrain.config import PretrainConfig
from medadapt.pretrain.data import BlockSplit, PackedCorpus, open_packed_corpus, tokenizer_vocab_hash
from medadapt.pretrain.fingerprint import describe_changes, fingerprint_diff, run_fingerprint
from medadapt.pretrain.masking import BlockMasker, MaskingSpec, step_generator
from medadapt.pretrain.mixing import CorpusMixer
from medadapt.pretrain.mlm_head import SparseMLM, pad_vocabulary
from medadapt.pretrain.model import load_mlm_model, load_tokenizer, position_limit
from medadapt.pretrain.perplexity import masked_loss_sums
from medadapt.pretrain.resume import (
    apply_optimiser_settings,
    earlier_forced_resumes,
    forced_resume_entry,
    record_forced_resumes,
)
from medadapt.progress import console, make_progress
from medadapt.training_shell import LOG_NAME, JsonlLog, make_accelerator, param_groups, save_pretrained_atomically


class ResumeRefused(MedadaptError):
    """`--resume` found a checkpoint of a different run."""


@dataclass
class Batch:
    input_ids: torch.Tensor
    labels: torch.Tensor
    attention_mask: torch.Tensor | None
    real_tokens: int


@dataclass
class RunState:
    step: int = 0
    tokens_seen: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def _adamw(groups: list[dict[str, Any]], train: Any) -> torch.optim.Optimizer:
    """AdamW, fused when configured: on CPU the default per-tensor loop costs ~0.5 s/step on a 117M-parameter
    encoder (mostly the 96M-parameter word embeddings), the fused kernel ~0.1 s (measured, one core). The Hugging
    Face Trainer uses the fused kernel by default (`optim="adamw_torch_fused"` with torch >= 2.8)."""
    kwargs: dict[str, Any] = {"lr": train.learning_rate, "betas": train.adam_betas, "eps": train.adam_eps}
    if train.fused_adamw:
        try:  # the device check happens here; parameters are on the CPU, and CUDA supports the kernel too
            return torch.optim.AdamW(groups, fused=True, **kwargs)
        except (RuntimeError, ValueError):  # e.g. non-float parameters: fall back to the default implementation
            pass
    return torch.optim.AdamW(groups, **kwargs)


class Pretrainer:
    """Holds the pieces of one run; `run()` executes it. Construct through `pretrain()`."""

    def __init__(self, config: PretrainConfig, *, resume: bool, force: bool, show_progress: bool):
        self.config = config
        self.out_dir = Path(config.out_dir)
        self.resume = resume
        self.force = force
        self.show_progress = show_progress
        train = config.training
        self.accelerator = make_accelerator(train.precision, dynamo_backend="inductor" if train.compile else "no")
        if self.accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED):
            # Checkpoints here hold full (unsharded) model and optimizer state; sharded state needs
            # torch.distributed.checkpoint, which is not wired in yet. A BERT-base encoder fits one GPU: use DDP.
            raise ConfigError(
                f"{self.accelerator.distributed_type.value} is not supported by `medadapt pretrain` yet; "
                "launch with DDP (`accelerate launch --multi_gpu ...`)"
            )
        set_seed(train.seed)
        self.names = config.corpus_names()
        self.corpora: list[PackedCorpus] = [open_packed_corpus(Path(c.path)) for c in config.corpora]
        self._check_corpora_have_blocks()
        self._check_corpora_agree()
        tokenizer_source = config.model.tokenizer or (
            config.model.name_or_path if config.model.from_config is None else self.corpora[0].tokenizer_path
        )
        self.tokenizer = load_tokenizer(tokenizer_source)
        vocab_hash = tokenizer_vocab_hash(self.tokenizer)
        self._check_tokenizer(tokenizer_source, vocab_hash)
        model = load_mlm_model(config.model, self.tokenizer)
        self._check_positions(model)
        pad_vocabulary(model, config.model.pad_vocab_multiple)
        self.model = model
        self.vocab_limit = len(self.tokenizer)
        self.masker = BlockMasker(self.tokenizer, MaskingSpec(**config.masking.model_dump()))
        wrapper = SparseMLM(model, sparse=train.sparse_head, vocab_limit=self.vocab_limit)
        optimizer = _adamw(param_groups(model, train.weight_decay, train.learning_rate), train)
        self.scheduler = get_scheduler(
            train.schedule if train.schedule != "constant" else "constant_with_warmup",
            optimizer,
            num_warmup_steps=int(train.warmup_ratio * train.max_steps),
            num_training_steps=train.max_steps,
        )
        self.wrapper, self.optimizer = self.accelerator.prepare(wrapper, optimizer)
        self.mixer = CorpusMixer(
            sizes=[len(c.train) for c in self.corpora],
            weights=[c.weight for c in config.corpora],
            seed=train.seed,
        )
        self.world = self.accelerator.num_processes
        self.rank = self.accelerator.process_index
        self.fingerprint = run_fingerprint(
            config,
            tokenizer_hash=vocab_hash,
            corpus_hashes=[c.manifest_hash for c in self.corpora],
            world_size=self.world,
        )
        self.state = RunState()
        self.log = JsonlLog(self.out_dir / LOG_NAME, main=self.accelerator.is_main_process, history=self.state.history)
        self.forced_resumes: list[dict[str, Any]] = []
        self.eval_splits = self._eval_splits()

    # ------------------------------------------------------------------ set-up helpers
    # Every check runs in __init__, before `run()` creates the output folder: a run that cannot work fails in
    # one line and leaves nothing behind.
    def _check_corpora_have_blocks(self) -> None:
        """An empty corpus (e.g. every document skipped as bad input) cannot be sampled from."""
        for source, corpus in zip(self.config.corpora, self.corpora, strict=True):
            if len(corpus.train) == 0:
                documents = corpus.manifest.get("totals", {}).get("documents", 0)
                raise ConfigError(
                    f"corpus {source.path} has no training blocks (built from {documents} kept documents, "
                    f"{len(corpus.validation)} validation blocks); rebuild it with more input, or remove it from "
                    "`corpora`"
                )

    def _eval_splits(self) -> list[tuple[str, BlockSplit]]:
        """Each corpus's validation split, or its training blocks (said once) when it has no validation blocks.

        A small corpus built with the default 1% held out often has none; evaluating nothing would log
        `"eval": {}` for the whole run without a word.
        """
        splits = []
        for source, corpus in zip(self.config.corpora, self.corpora, strict=True):
            if len(corpus.validation):
                splits.append(("validation", corpus.validation))
                continue
            splits.append(("train", corpus.train))
            if self.accelerator.is_main_process:
                console.print(
                    f"[yellow]corpus {escape(source.path)} has no validation blocks: its loss and perplexity are "
                    "measured on training blocks (rebuild with a larger --val-fraction for a held-out measure)[/]",
                    highlight=False,
                )
        return splits

    def _check_tokenizer(self, tokenizer_source: str, vocab_hash: str) -> None:
        """The corpus's token ids mean something only with the vocabulary that produced them."""
        corpus, path = self.corpora[0], self.config.corpora[0].path
        if vocab_hash == corpus.vocab_hash:
            return
        built = corpus.tokenizer_info
        raise ConfigError(
            f"corpus {path} was tokenized with {built.get('name_or_path')!r} ({built.get('vocab_size', '?')} "
            f"tokens), but this run's tokenizer {tokenizer_source!r} ({len(self.tokenizer)} tokens) has a different "
            f"vocabulary; set model.tokenizer to the corpus's tokenizer, or rebuild the corpus with this one "
            f"(medadapt corpus build --tokenizer {tokenizer_source})"
        )

    def _check_positions(self, model: torch.nn.Module) -> None:
        """A block longer than the model's position table fails deep in the first forward pass otherwise."""
        limit = position_limit(model)
        block = self.corpora[0].block_size
        if limit is not None and block > limit:
            name = self.config.model.name_or_path if self.config.model.from_config is None else "model.from_config"
            positions = getattr(model.config, "max_position_embeddings", limit)
            raise ConfigError(
                f"corpus {self.config.corpora[0].path} has block size {block}, but {name} takes at most {limit} "
                f"tokens (max_position_embeddings {positions}); rebuild the corpus with --block-size {limit} "
                "or less, or use a model with more positions"
            )

    def _check_corpora_agree(self) -> None:
        first = self.corpora[0]
        for source, corpus in zip(self.config.corpora[1:], self.corpora[1:], strict=True):
            if corpus.vocab_hash != first.vocab_hash:
                raise ConfigError(f"corpus {source.path} was built with another tokenizer than {first.path}")
            if corpus.block_size != first.block_size:
                raise ConfigError(
                    f"corpus {source.path} has block size {corpus.block_size}, {first.path} has {first.block_size}"
                )

    def _log(self, record: dict[str, Any]) -> None:
        self.log.write(record)

    def _try_resume(self) -> None:
        root = self.out_dir / "checkpoints"
        path = latest_valid_checkpoint(root, warn=lambda m: console.print(f"[yellow]{escape(m)}[/]"))
        if path is None:
            self._start_afresh(root)
            return
        state = json.loads((path / "state.json").read_text())
        changes = self._resume_changes(path, state)
        loaded = self._load(path, forced=bool(changes))
        data_note = self._restore_data_position(loaded.state["mixer"], forced=bool(changes))
        self.state.step = int(loaded.state["step"])
        self.state.tokens_seen = int(loaded.state["tokens_seen"])
        self._truncate_log(self.state.step)
        self.forced_resumes = earlier_forced_resumes(self.out_dir, self.state.step)
        if changes:
            entry = forced_resume_entry(self.state.step, path, changes)
            if data_note:
                entry["data_position"] = data_note
            self.forced_resumes.append(entry)
            self._log({"event": "forced_resume", **entry})
        console.print(f"resumed from {escape(str(path))} at step {self.state.step}", highlight=False)

    def _resume_changes(self, path: Path, state: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """What differs from the checkpoint's run: refused (one line, old → new) unless --force."""
        changes = fingerprint_diff(state["fingerprint"], self.fingerprint)
        step = int(state["step"])
        if changes and not self.force:
            raise ResumeRefused(
                f"refusing to resume from {path}: this run differs from the checkpoint's "
                f"({describe_changes(changes)}); restore those settings, or pass --force to continue with the new "
                f"ones from step {step}"
            )
        if changes:
            console.print(
                f"[yellow]--force: resuming from step {step} with changed settings "
                f"({escape(describe_changes(changes))}); the new values apply from step {step} on and are "
                "recorded in log.jsonl and resolved_config.yaml[/]",
                highlight=False,
            )
        return changes

    def _load(self, path: Path, *, forced: bool) -> Any:
        """Restore the checkpoint; when forced, this config's optimiser settings replace the checkpoint's."""
        model = self.accelerator.unwrap_model(self.wrapper).model
        try:
            loaded = load_checkpoint(
                path,
                model=model,
                optimizer=self.optimizer,
                scheduler=self.scheduler,
                scaler=self.accelerator.scaler,
                process_index=self.rank,
            )
        except (RuntimeError, ValueError, KeyError) as exc:
            if not forced:
                raise
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
            first = " ".join(lines[:2])[:300]
            raise ResumeRefused(
                f"cannot resume from {path} even with --force: its weights or optimizer state do not fit this "
                f"run's model ({first})"
            ) from exc
        if forced:
            apply_optimiser_settings(self.optimizer, self.scheduler, model, self.config.training)
        return loaded

    def _restore_data_position(self, saved: dict[str, Any], *, forced: bool) -> str | None:
        """Continue the checkpoint's data stream; after a forced change of corpora or weights, restart it.

        The saved position counts blocks of the checkpoint's corpora: it means nothing for others. Returns the
        note recorded with the forced resume, or None when the position carried over.
        """
        same = list(saved["sizes"]) == list(self.mixer.sizes) and list(saved["weights"]) == list(self.mixer.weights)
        if same or not forced:
            self.mixer.load_state_dict(saved)
            return None
        note = (
            f"restarted at the first block of each corpus (the checkpoint's position was for corpus sizes "
            f"{list(saved['sizes'])} and weights {list(saved['weights'])})"
        )
        console.print(f"[yellow]--force: the data order {escape(note)}[/]", highlight=False)
        return note

    def _start_afresh(self, root: Path) -> None:
        """No checkpoint to resume from: step 0, with the previous attempt's log and checkpoints moved aside.

        Appending to the old log would interleave two runs' step numbers; leaving unusable checkpoints in place
        would shadow the new ones (they sort as newer) and make `keep_last` prune the new ones first.
        """
        log = self.log.path
        moved = []
        self.accelerator.wait_for_everyone()  # every process has looked at the checkpoints before they move
        if self.accelerator.is_main_process:
            if log.is_file() and log.stat().st_size:
                moved.append(f"old log kept as {move_aside(log)}")
            if root.is_dir() and any(root.iterdir()):
                moved.append(f"unusable checkpoints moved to {move_aside(root, 'unusable-')}")
        self.log.start()
        self.accelerator.wait_for_everyone()
        note = f" ({escape('; '.join(moved))})" if moved else ""
        console.print(
            f"[yellow]--resume: no usable checkpoint under {escape(str(root))}; "
            f"starting from step 0 with a fresh log{note}[/]",
            highlight=False,
        )

    def _truncate_log(self, step: int) -> None:
        """Drop log lines written after the checkpoint by the interrupted run, so the log reads as one run."""
        if not self.log.path.exists():
            return
        kept = []
        for line in self.log.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by the kill
            if record.get("step", 0) <= step:
                kept.append(record)
        self.log.replace(kept)

    # ------------------------------------------------------------------ batches
    def _global_micro_batch(self, micro: int) -> Batch:
        """Mask the whole global micro-batch identically on every process, then keep this process's rows."""
        per_device = self.config.training.batch_size
        picks = self.mixer.take(per_device * self.world)
        ids_np, starts_np, lengths_np = _fetch(self.corpora, picks)
        ids = torch.from_numpy(ids_np).long()
        lengths = torch.from_numpy(lengths_np).long()
        generator = step_generator(self.config.training.seed, self.state.step, micro)
        masked, labels, attention = self.masker(ids, torch.from_numpy(starts_np), lengths, generator)
        rows = slice(self.rank * per_device, (self.rank + 1) * per_device)
        attention = None if attention is None else attention[rows]
        return Batch(masked[rows], labels[rows], attention, int(lengths.sum()))

    # ------------------------------------------------------------------ train / eval
    def _train_step(self) -> tuple[float, int]:
        accum = self.config.training.gradient_accumulation
        batches = [self._global_micro_batch(m) for m in range(accum)]
        # The loss is normalised by the masked-token count of the whole global step (all processes, all
        # micro-batches); DDP averages gradients over processes, hence the factor `world` below.
        n_masked_local = torch.tensor(float(sum(int((b.labels != -100).sum()) for b in batches)))
        n_masked_all = self.accelerator.reduce(n_masked_local.to(self.accelerator.device), "sum")
        total = max(float(n_masked_all.item()), 1.0)
        loss_total = torch.zeros((), device=self.accelerator.device)
        device = self.accelerator.device
        for i, batch in enumerate(batches):
            context = self.accelerator.no_sync(self.wrapper) if i < accum - 1 else nullcontext()
            with context, self.accelerator.autocast():
                loss_sum, _ = self.wrapper(
                    batch.input_ids.to(device),
                    None if batch.attention_mask is None else batch.attention_mask.to(device),
                    batch.labels.to(device),
                )
                loss = loss_sum / total * self.world
            self.accelerator.backward(loss)
            loss_total += loss_sum.detach()
        if self.config.training.max_grad_norm:
            self.accelerator.clip_grad_norm_(self.wrapper.parameters(), self.config.training.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        loss_all = self.accelerator.reduce(loss_total, "sum")
        tokens = sum(b.real_tokens for b in batches)
        return float(loss_all.item()) / total, tokens

    @torch.no_grad()
    def evaluate(self) -> dict[str, dict[str, Any]]:
        """MLM loss and perplexity on each corpus's validation split separately, with masks fixed across steps."""
        # The unwrapped module: DDP would broadcast buffers on every forward, and processes may see different
        # numbers of validation batches.
        wrapper = self.accelerator.unwrap_model(self.wrapper)
        wrapper.eval()
        results: dict[str, dict[str, Any]] = {}
        for index, (name, (split, blocks)) in enumerate(zip(self.names, self.eval_splits, strict=True)):
            n = min(len(blocks), self.config.eval.max_blocks)
            loss_sum, count = masked_loss_sums(
                wrapper,
                blocks,
                self.masker,
                max_blocks=n,
                batch_size=self.config.eval.batch_size,
                seed=self.config.training.seed + 1,
                key=index,
                device=self.accelerator.device,
                rank=self.rank,
                world=self.world,
                autocast=self.accelerator.autocast,
            )
            loss_sum = self.accelerator.reduce(loss_sum, "sum")
            count = self.accelerator.reduce(count, "sum")
            if count.item() > 0:
                loss = float(loss_sum.item() / count.item())
                results[name] = {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "blocks": n, "split": split}
        wrapper.train()
        return results

    def _checkpoint(self) -> None:
        save_checkpoint(
            self.out_dir / "checkpoints",
            self.state.step,
            model=self.accelerator.unwrap_model(self.wrapper).model,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            scaler=self.accelerator.scaler,
            state={
                "mixer": self.mixer.state_dict(),
                "tokens_seen": self.state.tokens_seen,
                "fingerprint": self.fingerprint,
            },
            keep_last=self.config.checkpoint.keep_last,
            is_main_process=self.accelerator.is_main_process,
            process_index=self.rank,
            wait_for_everyone=self.accelerator.wait_for_everyone,
        )

    def run(self) -> Path:
        cfg = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.resume:
            self._try_resume()
        elif (self.out_dir / "checkpoints").exists() and any((self.out_dir / "checkpoints").iterdir()):
            raise ConfigError(
                f"{self.out_dir} already holds checkpoints of a run; pass --resume to continue it, "
                "or choose another --out"
            )
        else:
            self.log.start()
        if self.accelerator.is_main_process:
            write_resolved_config(
                self.out_dir,
                cfg,
                [Path(c.path) / "manifest.json" for c in cfg.corpora],
            )
            record_forced_resumes(self.out_dir, self.forced_resumes)
        train = cfg.training
        self._log(
            {
                "step": self.state.step,
                "event": "resume" if self.state.step else "start",
                "world_size": self.world,
                "device": str(self.accelerator.device),
                "precision": self.accelerator.mixed_precision,
                "corpora": {n: len(c.train) for n, c in zip(self.names, self.corpora, strict=True)},
                "eval_splits": {n: split for n, (split, _) in zip(self.names, self.eval_splits, strict=True)},
            }
        )
        if self.state.step == 0:  # the starting point: how well the model knows each domain before training
            self._log({"step": 0, "eval": self.evaluate()})
        self.wrapper.train()
        loss_col = TextColumn("loss {task.fields[loss]:.4f}  {task.fields[tps]:,.0f} tok/s")
        # tokens/s counts training time only (evaluation and checkpoint writing are excluded)
        window_tokens, window_time = 0, 0.0
        with (
            StopRequest("finishing this step and writing a checkpoint…") as stop,
            make_progress(loss_col, disable=not (self.show_progress and self.accelerator.is_main_process)) as bar,
        ):
            task = bar.add_task("pre-training", total=train.max_steps, completed=self.state.step, loss=0.0, tps=0.0)
            while self.state.step < train.max_steps:
                started = time.perf_counter()
                loss, tokens = self._train_step()
                window_time += time.perf_counter() - started
                self.state.step += 1
                self.state.tokens_seen += tokens
                window_tokens += tokens
                step = self.state.step
                if step % train.log_every == 0 or step == train.max_steps:
                    tps = window_tokens / max(window_time, 1e-9)
                    self._log(
                        {
                            "step": step,
                            "loss": loss,
                            "lr": self.scheduler.get_last_lr()[0],
                            "tokens_per_s": tps,
                            "tokens_seen": self.state.tokens_seen,
                            "mix": dict(zip(self.names, self.mixer.realised_proportions(), strict=True)),
                            "epochs": dict(zip(self.names, self.mixer.epochs(), strict=True)),
                        }
                    )
                    window_tokens, window_time = 0, 0.0
                    bar.update(task, loss=loss, tps=tps)
                bar.update(task, completed=step)
                if step % cfg.eval.every == 0 or step == train.max_steps:
                    self._log({"step": step, "eval": self.evaluate()})
                if step % cfg.checkpoint.every == 0 or step == train.max_steps or stop.requested:
                    self._checkpoint()
                if stop.requested:
                    console.print(f"stopped at step {step}; resume with --resume")
                    return self.out_dir
        return self._finish()

    def _finish(self) -> Path:
        final = self.out_dir / "model"
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            save_pretrained_atomically(self.accelerator.unwrap_model(self.wrapper).model, self.tokenizer, final)
            from medadapt.pretrain.plots import plot_loss_curve

            plot_loss_curve(self.state.history, self.out_dir / "loss_curve.png")
            console.print(f"model written to {final}")
        self.accelerator.wait_for_everyone()
        return final


def _fetch(corpora: list[PackedCorpus], picks: list[tuple[int, int]]) -> tuple[np.ndarray, ...]:
    """Gather blocks from several corpora in the order the mixer chose them."""
    ids, starts, lengths = [], [], []
    for corpus_index, block in picks:
        a, b, c = corpora[corpus_index].train.fetch(np.asarray([block]))
        ids.append(a)
        starts.append(b)
        lengths.append(c)
    return np.concatenate(ids), np.concatenate(starts), np.concatenate(lengths)


def pretrain(config: PretrainConfig, *, resume: bool = False, force: bool = False, show_progress: bool = True) -> Path:
    """Run continued pre-training; returns the output folder (the model is in `<out>/model`)."""
    return Pretrainer(config, resume=resume, force=force, show_progress=show_progress).run()
