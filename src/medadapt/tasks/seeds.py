"""Every task's multi-seed layout, so `finetune <task> --seeds 1,2,3` means the same folders for every task.

One seed writes into the output folder itself; several write `seed-<n>/` each, plus `summary.json` (the task's own
summary of the per-seed metrics). Lives in the task layer, not in the training loop: it runs whole recipes, and the
loop knows nothing of seeds beyond the one it is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medadapt.training import process_state

if TYPE_CHECKING:
    from medadapt.tasks.protocol import Task


def run_seeds(
    seeds: Sequence[int],
    out_dir: Path,
    run_one: Callable[[int, Path], dict[str, Any]],
    summarize: Callable[[dict[int, dict[str, Any]]], dict[str, Any]],
    task: str,
) -> dict[str, Any]:
    """Every task's multi-seed layout: one seed writes into `out_dir`; several write `out_dir/seed-<n>` each,
    plus `summary.json` (from `summarize(per_seed)`), and the result carries every run under "runs"."""
    from medadapt.progress import console

    if len(seeds) == 1:
        return run_one(seeds[0], out_dir)
    per_seed: dict[int, dict[str, Any]] = {}
    for seed in seeds:
        console.print(f"{task} fine-tuning, seed {seed} ({len(per_seed) + 1}/{len(seeds)})")
        per_seed[seed] = run_one(seed, out_dir / f"seed-{seed}")
    summary = summarize(per_seed)
    if process_state().is_main_process:
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary | {"runs": {str(s): m for s, m in per_seed.items()}}


def finetune_seeds(task: Task, config: Any, *, show_progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """Every seed of `config` through `task.finetune_seed`, in the layout of `run_seeds`. A Ctrl-C in one seed of
    several ends the command (see run_folder.stop_on_interrupt); `resume` keeps seeds that finished with the same
    settings and inputs (run_folder.keep_finished)."""
    from medadapt.tasks.protocol import data_files
    from medadapt.tasks.run_folder import keep_finished, stop_on_interrupt

    out, seeds = Path(config.out_dir), config.seed_list()

    def run_one(seed: int, folder: Path) -> dict[str, Any]:
        return task.finetune_seed(config, seed, folder, show_progress=show_progress)

    run_one = stop_on_interrupt(run_one, seeds)
    if resume:
        run_one = keep_finished(run_one, config, out, seeds, data_files(config))
    return run_seeds(seeds, out, run_one, lambda per_seed: task.summarize(config, per_seed, out), task.name)


def training_record(seed: int, result: Any) -> dict[str, Any]:
    """How one run's training went (a `training.TrainResult`), as every task's metrics.json starts."""
    return {
        "seed": seed,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early,
        "interrupted": result.interrupted,
    }
