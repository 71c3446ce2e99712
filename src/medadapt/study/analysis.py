"""From finished evaluation jobs to the study's numbers: per cell (task, setting, test language, model) the seed
mean ± sd and a bootstrap CI over test units; per variant the paired comparison with the base on the same units
(paired bootstrap and approximate randomisation with seeds pooled, Holm-corrected across all comparisons, effect
size over seeds); per task the transfer matrix and gaps.

Units are what the task's test set is made of (NER documents with strict [tp, fp, fn], screening patients with
[label, score]); they are aligned by id across seeds and models, and a mismatch is an error, because a paired test
on different units would be meaningless.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medadapt.errors import InputError
from medadapt.metrics.stats import (
    approximate_randomization,
    bootstrap_ci,
    holm,
    mean_sd,
    paired_bootstrap,
    paired_effect_size,
)
from medadapt.study.config import StudyConfig
from medadapt.study.plan import Job, plan
from medadapt.tasks.registry import get_task


@dataclass
class Cell:
    task: str
    setting: str
    test_lang: str
    model: str
    metric: str
    statistic: Callable[[np.ndarray], float]  # the metric from unit rows, as the task defines it
    seeds: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    run_dirs: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.task, self.setting, self.test_lang

    def array(self) -> np.ndarray:
        return np.stack(self.rows)

    def values(self) -> list[float]:
        return [self.statistic(r) for r in self.rows]


def _units(job: Job) -> tuple[list[str], np.ndarray]:
    path = job.folder / "units.json"
    try:
        data = json.loads(path.read_text())
        order = np.argsort(data["ids"], kind="stable")
        return [data["ids"][i] for i in order], np.asarray(data["rows"], dtype=float)[order]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise InputError(path, f"unreadable units of {job.name} ({exc}); {REDO}") from exc


REDO = "rerun `medadapt study run` to redo that evaluation"


def collect(study: StudyConfig, jobs: list[Job] | None = None) -> list[Cell]:
    """Cells of every finished evaluation (of `jobs`, default: the study's plan), seeds in study order. An
    evaluation recorded as done whose outputs are gone is an error naming the file, not a silently smaller table."""
    cells: dict[tuple[str, str, str, str], Cell] = {}
    for job in plan(study) if jobs is None else jobs:
        if job.kind != "evaluate" or not job.recorded():
            continue
        missing = job.missing()
        if missing:
            raise InputError(job.folder / missing[0], f"missing, though {job.name} is recorded as done; {REDO}")
        spec = job.spec
        task = study.tasks[spec["task"]]
        metric, statistics = task.primary_metric(), get_task(task.type).unit_metrics
        if metric not in statistics:
            raise InputError(job.folder, f"a {task.type} task's units give {sorted(statistics)}, not {metric!r}")
        key = (spec["task"], spec["setting"], spec["test_lang"], spec["model"])
        cell = cells.setdefault(key, Cell(*key, metric=metric, statistic=statistics[metric]))
        ids, rows = _units(job)
        if cell.ids and ids != cell.ids:
            raise InputError(job.folder / "units.json", f"test units differ from seed {cell.seeds[0]}'s")
        cell.ids = ids
        cell.seeds.append(spec["seed"])
        cell.rows.append(rows)
        cell.run_dirs.append(str(job.folder.parent.parent))
    return list(cells.values())


def _common_seeds(a: Cell, b: Cell) -> tuple[np.ndarray, np.ndarray, list[int]]:
    seeds = [s for s in a.seeds if s in b.seeds]
    pick = lambda c: np.stack([c.rows[c.seeds.index(s)] for s in seeds])  # noqa: E731
    return pick(a), pick(b), seeds


def analyse(study: StudyConfig, cells: list[Cell] | None = None) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data (also written to `<study>/analysis.json`)."""
    cells = collect(study) if cells is None else cells
    stats = study.statistics
    rows_out = []
    by_key = {(c.key, c.model): c for c in cells}
    for cell in cells:
        values = cell.values()
        ci = bootstrap_ci(
            cell.array(),
            cell.statistic,
            n_resamples=stats.bootstrap_resamples,
            confidence=stats.confidence,
            seed=stats.seed,
        )
        rows_out.append(
            {
                "task": cell.task,
                "setting": cell.setting,
                "test_lang": cell.test_lang,
                "model": cell.model,
                "metric": cell.metric,
                "seeds": cell.seeds,
                "values": values,
                **{f"seed_{k}": v for k, v in mean_sd(values).items()},
                "ci": ci,
                "units": len(cell.ids),
                "run_dirs": cell.run_dirs,
            }
        )
    comparisons = []
    for cell in cells:
        base = by_key.get((cell.key, study.base))
        if cell.model == study.base or base is None:
            continue
        paired = _paired(study, base, cell)
        if paired:
            comparisons.append({**paired, "model": cell.model, "base": study.base})
    contrasts = []
    for contrast in study.contrasts:
        for cell in (c for c in cells if c.task == contrast.task):
            other = by_key.get(((contrast.baseline, cell.setting, cell.test_lang), cell.model))
            if other is None:
                continue
            if other.ids != cell.ids:
                raise InputError(
                    Path(cell.run_dirs[0]),
                    f"contrast {contrast.task} vs {contrast.baseline}: the two tasks' test units differ",
                )
            paired = _paired(study, other, cell)
            if paired:
                contrasts.append({**paired, "model": cell.model, "baseline_task": contrast.baseline})
    family = comparisons + contrasts
    adjusted = holm([c["p_ar"] for c in family]) if family else []
    for comparison, p in zip(family, adjusted, strict=True):
        comparison["p_holm"] = p
        comparison["significant"] = bool(p < stats.alpha)
    return {
        "cells": rows_out,
        "comparisons": comparisons,
        "contrasts": contrasts,
        "transfer": transfer(study, rows_out),
        "models": {m: e.model_dump() for m, e in study.models.items()},
        "base": study.base,
    }


def _paired(study: StudyConfig, reference: Cell, cell: Cell) -> dict[str, Any] | None:
    """`cell` minus `reference` on the same units, seeds pooled: paired bootstrap, approximate randomisation and
    the per-seed effect size (None when they share no seed)."""
    stats = study.statistics
    a, b, seeds = _common_seeds(reference, cell)
    if not seeds:
        return None
    metric = cell.statistic
    boot = paired_bootstrap(
        a, b, metric, n_resamples=stats.bootstrap_resamples, confidence=stats.confidence, seed=stats.seed
    )
    ar = approximate_randomization(a, b, metric, n_permutations=stats.permutations, seed=stats.seed)
    effect = paired_effect_size([metric(r) for r in a], [metric(r) for r in b])
    return {
        "task": cell.task,
        "setting": cell.setting,
        "test_lang": cell.test_lang,
        "metric": cell.metric,
        "seeds": seeds,
        "difference": boot["difference"],
        "ci_low": boot["low"],
        "ci_high": boot["high"],
        "p_bootstrap": boot["p_value"],
        "p_ar": ar["p_value"],
        **effect,
    }


def transfer(study: StudyConfig, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per task and model: mean metric trained on each setting, tested on each language; gap to in-language."""
    out: dict[str, Any] = {}
    for task_name, task in study.tasks.items():
        langs = list(task.languages)
        per_model: dict[str, Any] = {}
        for model in study.models:
            cells = {
                (r["setting"], r["test_lang"]): r["seed_mean"]
                for r in rows
                if r["task"] == task_name and r["model"] == model
            }
            if not cells:
                continue
            settings = sorted(
                {s for s, _ in cells}, key=lambda s: (s not in langs, langs.index(s) if s in langs else 0, s)
            )
            matrix = {s: {t: cells.get((s, t)) for t in langs} for s in settings}
            gap = {
                s: {
                    t: (matrix[s][t] - cells[(t, t)]) if matrix[s][t] is not None and (t, t) in cells else None
                    for t in langs
                    if t != s
                }
                for s in settings
            }
            per_model[model] = {"matrix": matrix, "gap_vs_in_language": gap}
        out[task_name] = {"languages": langs, "models": per_model}
    return out
