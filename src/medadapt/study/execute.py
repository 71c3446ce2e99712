"""Run a study's jobs in order, skipping finished ones and redoing broken or outdated ones, saying why.

Before anything on disk is touched (and in `--dry-run`), every job's resolved config is validated and every model
and data path the study names is checked (`medadapt.study.check`), so a settings typo or a missing file is one
error naming the jobs and keys, not a failure hours in.

A job is finished when its `done.json` carries its key *and* its outputs are all there (`plan.required_outputs`).
A job writes `done.json` only after its outputs are complete, so a crash or Ctrl-C leaves a folder without it,
which the next run redoes (pre-training resumes from its own checkpoints instead of starting over). A fine-tuning
run stopped by Ctrl-C keeps its best model but is not marked done.

Finished results are never deleted: a job folder that is redone while it holds a `done.json` (its own or an
evaluation's inside it) or pre-training checkpoints — because its settings or inputs changed, or an output went
missing — is moved aside to `<folder>.previous-<YYYYmmdd-HHMMSS>` (a message names it; delete it when it is no
longer needed). Moving aside, rather than running into a temporary folder and swapping at the end, keeps the paths
the new run records (predictions, resolved config) true; a rename is atomic, so a kill at any point leaves the old
results either in place or moved. Only unfinished folders (no `done.json`, no checkpoints) are removed.

One `study run` holds a study folder at a time (`medadapt.study.lock`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medadapt.config import build_config, deep_merge, load_config
from medadapt.documents import Document
from medadapt.errors import MedadaptError
from medadapt.io.files import move_aside
from medadapt.progress import console
from medadapt.study.config import StudyConfig, TaskEntry
from medadapt.study.lock import exclusive
from medadapt.study.plan import (
    Job,
    Part,
    Setting,
    language_config,
    model_output,
    pending,
    task_template,
)
from medadapt.tasks.registry import get_task


class StudyInterrupted(MedadaptError):
    """Ctrl-C during a job: finished jobs are kept; rerun the same command to resume."""


class StudyJobError(MedadaptError):
    """A job returned without writing the outputs a finished job must have: it is not marked done."""


def _mark_done(job: Job, started: float, result: dict[str, Any]) -> None:
    """Write done.json atomically (a kill mid-write must not leave a truncated record)."""
    missing = job.missing()
    if missing:
        raise StudyJobError(f"{job.name} ended without writing {', '.join(missing)} in {job.folder}; not marked done")
    record = {"key": job.key, "name": job.name, "seconds": round(time.perf_counter() - started, 2)} | result
    tmp = job.folder / ".done.json.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(job.folder / "done.json")


def holds_results(folder: Path) -> bool:
    """A finished record anywhere inside (the job's or an evaluation's) or pre-training checkpoints."""
    return (folder / "checkpoints").is_dir() or next(folder.rglob("done.json"), None) is not None


def set_aside(folder: Path) -> Path:
    """Rename `folder` to `<folder>.previous-<time>` (a counter added if that exists) and return the new path."""
    return move_aside(folder, "previous-")


def _fresh(job: Job) -> None:
    """An empty folder for the job: finished results there are moved aside (never deleted), an unfinished
    folder is removed."""
    if job.folder.exists():
        if holds_results(job.folder):
            aside = set_aside(job.folder)
            console.print(f"{job.name}: its earlier results are kept in {aside} (delete it when no longer needed)")
        else:
            shutil.rmtree(job.folder)
    job.folder.mkdir(parents=True)
    (job.folder / "job.json").write_text(json.dumps({"key": job.key, "name": job.name}, indent=1, default=str))


def resumes(job: Job) -> bool:
    """A pre-training job continues in its folder when that was started with the same key (its checkpoints are
    of this very run); every other job starts from an empty folder."""
    if job.kind != "pretrain":
        return False
    try:
        return json.loads((job.folder / "job.json").read_text()).get("key") == job.key
    except (OSError, ValueError, AttributeError):
        return False


def pretrain_overrides(job: Job) -> list[str]:
    """The job's `--set` overrides of its pretrain config: the study's, then start model and output folder."""
    return [*job.spec["overrides"], f"model.name_or_path={job.spec['start']}", f"out_dir={job.folder}"]


def run_pretrain(study: StudyConfig, job: Job) -> dict[str, Any]:
    from medadapt.pretrain.config import PretrainConfig
    from medadapt.pretrain.loop import pretrain

    if not resumes(job):
        _fresh(job)
    config = load_config(PretrainConfig, job.spec["config"], pretrain_overrides(job))
    pretrain(config, resume=(job.folder / "checkpoints").exists(), show_progress=console.is_terminal)
    return {"model": str(job.folder / "model")}


def _sorted_units(ids: list[str], seed: int) -> list[str]:
    return sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())


def part_documents(task: TaskEntry, part: Part, seed: int) -> list[Document]:
    """The documents of one part of a training set (a language's split, or its first k units in hash order),
    ids tagged with the language, as the task reads them."""
    protocol = get_task(task.type)
    path = getattr(task.languages[part.lang], part.split)
    docs = protocol.read_documents(language_config(task, part.lang), path)
    if part.k is not None:
        chosen = set(_sorted_units(sorted({protocol.unit_of(d) for d in docs}), seed)[: part.k])
        docs = [d for d in docs if protocol.unit_of(d) in chosen]
    return [protocol.tag_language(d, part.lang) for d in docs]


def _materialized(study: StudyConfig, task_name: str, setting: Setting) -> dict[str, tuple[tuple[Part, ...], Path]]:
    """Per split with data: the parts it is made of and the JSONL file they are written to."""
    task = study.tasks[task_name]
    folder = Path(study.out_dir) / "data" / task_name / setting.name
    out = {}
    for split, parts in (("train", setting.train), ("dev", setting.dev)):
        parts = tuple(p for p in parts if getattr(task.languages[p.lang], p.split))
        if parts:
            out[split] = (parts, folder / f"{split}.jsonl")
    return out


def materialize(study: StudyConfig, task_name: str, setting: Setting) -> dict[str, str]:
    """Joint / few-shot training data as medadapt JSONL (labels already mapped), one file per split."""
    from medadapt.io import write_documents

    task = study.tasks[task_name]
    paths = {}
    for split, (parts, path) in _materialized(study, task_name, setting).items():
        docs = [d for p in parts for d in part_documents(task, p, study.transfer.few_shot_seed)]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_documents(docs, path, "jsonl")
        paths[split] = str(path)
    return paths


def finetune_data(study: StudyConfig, job: Job, *, write_data: bool = True) -> tuple[type[Any], dict[str, Any]]:
    """The config class and data of one fine-tuning run (no test split: evaluation jobs test every language).
    Without `write_data`, joint / few-shot data are not written, only named: for validating before a run."""
    task = study.tasks[job.spec["task"]]
    protocol = get_task(task.type)
    setting: Setting = job.spec["setting_obj"]
    if setting.composite:
        if write_data:
            data = materialize(study, job.spec["task"], setting)
        else:
            data = {s: str(p) for s, (_, p) in _materialized(study, job.spec["task"], setting).items()}
        config = deep_merge(task_template(task), {**protocol.jsonl_settings, "data": {}})
        config["data"] = {**protocol.jsonl_settings.get("data", {}), **data}
    else:
        lang = task.languages[setting.train[0].lang]
        config = deep_merge(language_config(task, setting.train[0].lang), {"data": {"train": lang.train}})
        config["data"]["dev"] = lang.dev
    config["data"]["test"] = None
    config = deep_merge(config, {"model": job.spec["model_path"], "out_dir": str(job.folder)})
    config["training"] = deep_merge(config.get("training", {}), {"seed": job.spec["seed"], "seeds": None})
    return protocol.config_class(), config


def finetune_config(study: StudyConfig, job: Job, *, write_data: bool = True) -> Any:
    """The task config of one fine-tuning run, validated."""
    cls, data = finetune_data(study, job, write_data=write_data)
    return build_config(cls, data, source=job.name)


def _evaluation_inputs(study: StudyConfig, job: Job) -> tuple[dict[str, Any], Path, str]:
    """(task settings of the test language, the fine-tuned model folder, the test file) of an evaluation job."""
    task = study.tasks[job.spec["task"]]
    test = task.languages[job.spec["test_lang"]].test
    assert test is not None  # plan() makes evaluation jobs only for languages with a test split
    return language_config(task, job.spec["test_lang"]), job.folder.parent.parent / "best-model", test


def evaluate_data(study: StudyConfig, job: Job) -> tuple[type[Any], dict[str, Any]]:
    """What an evaluation job validates before the study runs (the task says which config reads its test file)."""
    return get_task(job.spec["type"]).evaluation_config(*_evaluation_inputs(study, job))


def run_finetune(study: StudyConfig, job: Job) -> dict[str, Any]:
    _fresh(job)
    config = finetune_config(study, job)
    metrics = get_task(job.spec["type"]).finetune_seed(
        config, job.spec["seed"], job.folder, show_progress=console.is_terminal
    )
    if metrics.get("interrupted"):
        raise StudyInterrupted(f"{job.name} was interrupted; rerun the study to redo it")
    return {"best_epoch": metrics["best_epoch"], "epochs_run": metrics["epochs_run"]}


def run_evaluate(study: StudyConfig, job: Job) -> dict[str, Any]:
    _fresh(job)
    metric = study.tasks[job.spec["task"]].primary_metric()
    settings, model_dir, test = _evaluation_inputs(study, job)
    numbers = get_task(job.spec["type"]).evaluate(settings, model_dir, test, job.folder)
    return {"metric": metric, "value": numbers[metric]}


RUNNERS: dict[str, Callable[[StudyConfig, Job], dict[str, Any]]] = {
    "pretrain": run_pretrain,
    "finetune": run_finetune,
    "evaluate": run_evaluate,
}


def run_study(study: StudyConfig, *, dry_run: bool = False) -> dict[str, Any]:
    """Check the whole study, then run (or with `dry_run` only list) every job that is not done.

    Returns counts of run/skipped jobs; with `dry_run`, the jobs and the pending ones with why (nothing written).
    """
    from medadapt.study.check import check_study

    jobs = check_study(study)
    if dry_run:
        return {"jobs": jobs, "todo": pending(jobs)}
    root = Path(study.out_dir)
    root.mkdir(parents=True, exist_ok=True)
    with exclusive(root):
        todo = pending(jobs)  # under the lock: the folder may have changed while another run held it
        (root / "study.json").write_text(study.model_dump_json(indent=1))
        counts = _run_jobs(study, jobs, todo)
    evaluations = sum(j.kind == "evaluate" for j in jobs)
    return counts | {"jobs": len(jobs), "evaluations": evaluations, "model_dirs": _model_dirs(study)}


def _model_dirs(study: StudyConfig) -> dict[str, str]:
    return {m: model_output(study, m) for m in study.models}


def _run_jobs(study: StudyConfig, jobs: list[Job], todo: dict[str, str]) -> dict[str, int]:
    """Run the pending jobs in order, each marked done once its outputs are complete."""
    counts = {"skipped": len(jobs) - len(todo), "run": 0}
    for i, job in enumerate(jobs, 1):
        if job.name not in todo:
            continue
        console.rule(f"[{i}/{len(jobs)}] {job.name}")
        if todo[job.name] != "new":
            console.print(f"redoing {job.name}: {todo[job.name]}")
        started = time.perf_counter()
        try:
            result = RUNNERS[job.kind](study, job)
        except KeyboardInterrupt as exc:
            raise StudyInterrupted(f"interrupted during {job.name}; rerun the study to resume there") from exc
        _mark_done(job, started, result)
        counts["run"] += 1
    return counts
