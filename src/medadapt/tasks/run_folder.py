"""What a fine-tuning output folder already holds, so `medadapt finetune` never replaces a run without a word.

A folder that holds a run (any of its outputs, or seed-<n>/ folders with some) is refused, as `medadapt pretrain`
refuses a folder with checkpoints, unless the command says what to do: `--overwrite` removes the old run's
outputs (and only those) and runs again — so no stale summary.json or seed folder of the old run is left beside the
new one to be read as part of it — and `--resume` keeps every seed that finished with the same settings and inputs
and runs the rest (a seed killed mid-way has no metrics.json, or one marked interrupted, so it is run again).

Why here and not in the tasks' `run_seed`: the study runner calls `run_seed` straight into job folders it keeps
itself (done.json and its own redo rule); these rules are for a person pointing `finetune` at a folder.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from medadapt.config import RESOLVED_CONFIG_NAME, file_sha256
from medadapt.errors import ConfigError, MedadaptError
from medadapt.loading import check_model_folder, check_tokenizer_fits
from medadapt.tasks.protocol import data_files

# the outputs a run writes into its folder (see the tasks' module docstrings), and the temporary best model
RUN_OUTPUTS = (
    ".tmp-best-model",
    "best-model",
    "data_report.json",
    "log.jsonl",
    "metrics.json",
    "predictions",
    RESOLVED_CONFIG_NAME,
    "summary.json",
)
SEED_FOLDER = re.compile(r"seed-\d+")
# what a kept seed need not share with this run: where it was written, and which seeds run beside it
NOT_COMPARED = ("out_dir", "training.seed", "training.seeds")
SHOWN = 6  # entries named in a message


class RunInterrupted(MedadaptError):
    """Ctrl-C stopped one seed of several: the rest are not started and no summary is written (exit code 130)."""

    exit_code = 130


def run_outputs(folder: Path) -> list[str]:
    """The run outputs in `folder`, sorted (`name/` for folders): its own files and seed-<n>/ folders with some."""
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        own = entry.name in RUN_OUTPUTS or (entry.name.startswith("reliability_") and entry.suffix == ".png")
        if own or (SEED_FOLDER.fullmatch(entry.name) and entry.is_dir() and run_outputs(entry)):
            found.append(entry.name + ("/" if entry.is_dir() else ""))
    return found


def _listed(names: Sequence[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def check_inputs(config: Any) -> None:
    """The model folder exists and its tokenizer fits its model, and the data files exist: said in one line before
    any output folder is made or cleared (`run_seed` finds most of it too, but only after it created the folder,
    and a tokenizer that does not fit only as an IndexError in the first training step)."""
    check_model_folder(config.model)
    check_tokenizer_fits(config.model)
    data_files(config)


def refuse_existing_run(out: Path, seeds: Sequence[int], *, overwrite: bool, resume: bool) -> list[str]:
    """Stop before anything is written when `out` holds a run and neither `--overwrite` nor a `--resume` that can
    continue it was given; returns what `out` holds. The message names the files, not a task: the run found may
    be of another task than the one asked for."""
    if overwrite and resume:
        raise ConfigError("give --overwrite or --resume, not both")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file, not an output folder; choose another --out")
    held = run_outputs(out)
    if not held or overwrite:
        return held
    if not resume:
        raise ConfigError(
            f"{out} already holds a run ({_listed(held)}); pass --overwrite to replace it, --resume to keep "
            "its finished seeds and run the rest, or choose another --out"
        )
    seed_folders = [h for h in held if SEED_FOLDER.fullmatch(h.rstrip("/"))]
    if len(seeds) == 1 and (seed_folders or "summary.json" in held):
        raise ConfigError(
            f"--resume: {out} holds a run of several seeds ({_listed(seed_folders or held)}) and this run has one "
            "seed; give the run's seeds with --seeds, or pass --overwrite to replace it"
        )
    own = [h for h in held if h not in seed_folders and h != "summary.json"]
    if len(seeds) > 1 and own:
        raise ConfigError(
            f"--resume: {out} holds a one-seed run ({_listed(own)}) and this run has {len(seeds)} seeds, one folder "
            "each; pass --overwrite to replace it, or choose another --out"
        )
    return held


def clear_run(out: Path, held: Iterable[str]) -> None:
    """Remove the old run's outputs named in `held` (nothing else in `out`), for `--overwrite`."""
    for name in held:
        target = out / name.rstrip("/")
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        return {k: v for key, value in data.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): data}


def _as_now(recorded: Any, config: BaseModel) -> Any:
    """The recorded settings read by today's config class, so a setting added since (absent from the record) counts
    as its default rather than as a change; a record today's class refuses is compared as written."""
    try:
        return type(config).model_validate(recorded).model_dump(mode="json")
    except ValueError:
        return recorded


def _differences(recorded: dict[str, Any], config: BaseModel, inputs: dict[str, str]) -> list[str]:
    """`key: old -> new` for each setting, and `input PATH changed` for each input file, that differ."""
    old = {k: v for k, v in _flat(_as_now(recorded.get("config", {}), config)).items() if k not in NOT_COMPARED}
    new = {k: v for k, v in _flat(config.model_dump(mode="json")).items() if k not in NOT_COMPARED}
    changed = [
        f"{k}: {old.get(k)} -> {new.get(k)}" for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)
    ]
    before = recorded.get("provenance", {}).get("inputs", {})
    changed += [f"input {p} changed" for p in sorted(before.keys() | inputs.keys()) if before.get(p) != inputs.get(p)]
    return changed


def finished_seed(config: BaseModel, folder: Path, input_files: Iterable[Path]) -> dict[str, Any] | None:
    """The metrics.json of a seed that finished in `folder` with `config`'s settings and the same input files, to
    keep; None when it did not finish (run it again). A seed that finished with other settings or inputs is a
    `ConfigError`: keeping it would mix two experiments in one summary, rerunning it would lose it."""
    try:
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        recorded = yaml.safe_load((folder / RESOLVED_CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None  # not written (killed before the end) or cut short while being written
    if not isinstance(metrics, dict) or metrics.get("interrupted") or not (folder / "best-model").is_dir():
        return None
    inputs = {str(p): file_sha256(p) for p in sorted({str(p) for p in input_files})}
    changed = _differences(recorded if isinstance(recorded, dict) else {}, config, inputs)
    if changed:
        raise ConfigError(
            f"--resume: {folder} was run with other settings ({_listed(changed)}); pass --overwrite to replace the "
            "run, or choose another --out"
        )
    return metrics


def keep_finished(
    run_one: Callable[[int, Path], dict[str, Any]],
    config: BaseModel,
    out: Path,
    seeds: Sequence[int],
    input_files: Iterable[Path],
) -> Callable[[int, Path], dict[str, Any]]:
    """`run_one` for `tasks.seeds.run_seeds` that returns a finished seed's metrics instead of running it again
    (`--resume`).

    Every seed is checked here, before the first one runs, so a finished seed with other settings stops the
    command before any work, not after the seeds ahead of it. Folders as `run_seeds` lays them out: `out` for one
    seed, `out/seed-<n>` for several.
    """
    from rich.markup import escape

    from medadapt.progress import console

    inputs = list(input_files)
    folders = {seed: out if len(seeds) == 1 else out / f"seed-{seed}" for seed in seeds}
    kept = {seed: finished_seed(config, folder, inputs) for seed, folder in folders.items()}

    def run_or_keep(seed: int, folder: Path) -> dict[str, Any]:
        metrics = kept.get(seed)
        if metrics is None:
            return run_one(seed, folder)
        console.print(f"seed {seed}: finished run kept ({escape(str(folder))})", highlight=False)
        return metrics

    return run_or_keep


def stop_on_interrupt(
    run_one: Callable[[int, Path], dict[str, Any]], seeds: Sequence[int]
) -> Callable[[int, Path], dict[str, Any]]:
    """`run_one` for `tasks.seeds.run_seeds` that ends the command when Ctrl-C stopped a seed of several.

    Why: the training loop answers Ctrl-C by finishing the step and keeping the best model so far, then returns;
    `run_seeds` would start the next seed (a stop took one Ctrl-C per seed) and average the cut-short seed into
    summary.json as if it had finished. One seed alone keeps its metrics.json (marked interrupted) and a note.
    """
    from medadapt.progress import console

    def run_or_stop(seed: int, folder: Path) -> dict[str, Any]:
        metrics = run_one(seed, folder)
        if not metrics.get("interrupted"):
            return metrics
        where = f"its best model so far and metrics.json (marked interrupted) are in {folder}"
        if len(seeds) == 1:
            console.print(f"[yellow]stopped early: {where}; --resume runs it again[/]", highlight=False)
            return metrics
        rest = list(seeds)[list(seeds).index(seed) + 1 :]
        not_run = f"seeds {', '.join(map(str, rest))} not started, " if rest else ""
        raise RunInterrupted(
            f"stopped in seed {seed}: {where}; {not_run}no summary.json written; rerun with --resume to finish"
        )

    return run_or_stop
