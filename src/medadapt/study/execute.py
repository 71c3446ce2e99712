"""Run a study's jobs in order, skipping finished ones (same key in `done.json`) and redoing broken ones.

A job writes `done.json` only after its outputs are complete, so a crash or Ctrl-C leaves a folder without it,
which the next run redoes (pre-training resumes from its own checkpoints instead of starting over). A fine-tuning
run stopped by Ctrl-C keeps its best model but is not marked done.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medadapt.config import build_config, load_config
from medadapt.errors import MedadaptError
from medadapt.progress import console
from medadapt.study.config import StudyConfig, TaskEntry
from medadapt.study.plan import Job, Part, Setting, deep_merge, language_config, model_output, plan, task_template

SCREENING_FIELDS = ("format", "text_field", "label_field", "patient_field", "date_field", "id_field", "lang")


class StudyInterrupted(MedadaptError):
    """Ctrl-C during a job: finished jobs are kept; rerun the same command to resume."""


def _mark_done(job: Job, started: float, result: dict[str, Any]) -> None:
    record = {"key": job.key, "name": job.name, "seconds": round(time.perf_counter() - started, 2)} | result
    (job.folder / "done.json").write_text(json.dumps(record, indent=1))


def _fresh(job: Job) -> None:
    """An unfinished or outdated job folder is removed before the job runs again."""
    if job.folder.exists():
        shutil.rmtree(job.folder)
    job.folder.mkdir(parents=True)
    (job.folder / "job.json").write_text(json.dumps({"key": job.key, "name": job.name}, indent=1, default=str))


def run_pretrain(study: StudyConfig, job: Job) -> dict[str, Any]:
    from medadapt.pretrain.config import PretrainConfig
    from medadapt.pretrain.loop import pretrain

    marker = job.folder / "job.json"
    same = marker.is_file() and json.loads(marker.read_text()).get("key") == job.key
    if not same:
        _fresh(job)
    overrides = [*job.spec["overrides"], f"model.name_or_path={job.spec['start']}", f"out_dir={job.folder}"]
    config = load_config(PretrainConfig, job.spec["config"], overrides)
    pretrain(config, resume=(job.folder / "checkpoints").exists(), show_progress=console.is_terminal)
    return {"model": str(job.folder / "model")}


def _sorted_units(ids: list[str], seed: int) -> list[str]:
    import hashlib

    return sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())


def _ner_docs(task: TaskEntry, part: Part, seed: int) -> list[Any]:
    from medadapt.tasks.ner_config import NerConfig
    from medadapt.tasks.ner_data import DataReport, load_split

    path = getattr(task.languages[part.lang], part.split)
    data = language_config(task, part.lang)
    data = deep_merge(data, {"model": "unused", "data": {"train": path, part.split: path}})
    gold, _ = load_split(build_config(NerConfig, data), part.split, DataReport())
    if part.k is not None:
        chosen = set(_sorted_units([d.id for d in gold], seed)[: part.k])
        gold = [d for d in gold if d.id in chosen]
    return [d.__class__(f"{part.lang}:{d.id}", d.text, d.lang or part.lang, d.spans, meta={}) for d in gold]


def _screening_docs(task: TaskEntry, part: Part, seed: int) -> list[Any]:
    from medadapt.tasks.screening_config import ScreeningDataSection
    from medadapt.tasks.screening_data import read_notes

    path = getattr(task.languages[part.lang], part.split)
    fields = language_config(task, part.lang).get("data", {})
    section = ScreeningDataSection(**{k: v for k, v in fields.items() if k in SCREENING_FIELDS}, train=path)
    docs = read_notes(path, section)
    if part.k is not None:
        patients = sorted({d.group or d.id for d in docs})
        chosen = set(_sorted_units(patients, seed)[: part.k])
        docs = [d for d in docs if (d.group or d.id) in chosen]
    out = []
    for d in docs:
        date = d.meta.get(section.date_field) if section.date_field else None
        group = f"{part.lang}:{d.group or d.id}"
        out.append(
            d.__class__(
                f"{part.lang}:{d.id}",
                d.text,
                d.lang or part.lang,
                label=d.label,
                group=group,
                meta={"date": date} if date is not None else {},
            )
        )
    return out


def materialize(study: StudyConfig, task_name: str, setting: Setting) -> dict[str, str]:
    """Joint / few-shot training data as medadapt JSONL (labels already mapped), one file per split."""
    from medadapt.io import write_documents

    task = study.tasks[task_name]
    folder = Path(study.out_dir) / "data" / task_name / setting.name
    folder.mkdir(parents=True, exist_ok=True)
    read = _ner_docs if task.type == "ner" else _screening_docs
    paths = {}
    for split, parts in (("train", setting.train), ("dev", setting.dev)):
        parts = tuple(p for p in parts if getattr(task.languages[p.lang], p.split))
        if not parts:
            continue
        docs = [d for p in parts for d in read(task, p, study.transfer.few_shot_seed)]
        write_documents(docs, folder / f"{split}.jsonl", "jsonl")
        paths[split] = str(folder / f"{split}.jsonl")
    return paths


def finetune_config(study: StudyConfig, job: Job) -> Any:
    """The task config of one fine-tuning run (no test split: evaluation jobs test every language)."""
    from medadapt.tasks.ner_config import NerConfig
    from medadapt.tasks.screening_config import ScreeningConfig

    task = study.tasks[job.spec["task"]]
    setting: Setting = job.spec["setting_obj"]
    if setting.composite:
        data = materialize(study, job.spec["task"], setting)
        config = task_template(task)
        config["data"] = {"format": "jsonl", **data}
        if task.type == "screening":
            config["data"] |= {"patient_field": "group", "text_field": "text", "label_field": "label", "id_field": "id"}
        if task.type == "ner":
            config["label_map"] = None
    else:
        lang = task.languages[setting.train[0].lang]
        config = deep_merge(language_config(task, setting.train[0].lang), {"data": {"train": lang.train}})
        config["data"]["dev"] = lang.dev
    config["data"]["test"] = None
    config = deep_merge(config, {"model": job.spec["model_path"], "out_dir": str(job.folder)})
    config["training"] = deep_merge(config.get("training", {}), {"seed": job.spec["seed"], "seeds": None})
    cls = NerConfig if task.type == "ner" else ScreeningConfig
    return build_config(cls, config, source=f"study task {job.spec['task']!r}")


def run_finetune(study: StudyConfig, job: Job) -> dict[str, Any]:
    _fresh(job)
    config = finetune_config(study, job)
    if job.spec["type"] == "ner":
        from medadapt.tasks.ner import run_seed
    else:
        from medadapt.tasks.screening import run_seed  # type: ignore[assignment]
    metrics = run_seed(config, job.spec["seed"], job.folder, show_progress=console.is_terminal)
    if metrics.get("interrupted"):
        raise StudyInterrupted(f"{job.name} was interrupted; rerun the study to redo it")
    return {"best_epoch": metrics["best_epoch"], "epochs_run": metrics["epochs_run"]}


def run_evaluate(study: StudyConfig, job: Job) -> dict[str, Any]:
    from medadapt.tasks.ner_config import NerConfig

    _fresh(job)
    task = study.tasks[job.spec["task"]]
    lang = job.spec["test_lang"]
    test = task.languages[lang].test
    model_dir = job.folder.parent.parent / "best-model"
    config = language_config(task, lang)
    metric = task.primary_metric()
    if task.type == "ner":
        from medadapt.tasks.ner import evaluate_saved

        data = deep_merge(config, {"model": str(model_dir), "data": {"train": test, "test": test}})
        result = evaluate_saved(build_config(NerConfig, data), model_dir, test, job.folder)
        value = result["test"]["strict"]["micro"]["f1"] if metric == "f1" else result["test"][metric]
    else:
        from medadapt.tasks.screening import evaluate_screening
        from medadapt.tasks.screening_config import ScreeningDataSection

        given = {k: v for k, v in config.get("data", {}).items() if k in SCREENING_FIELDS}
        # every field, defaults included: the model may have been trained on the study's merged JSONL
        fields = ScreeningDataSection(train=test, **given).model_dump(include=set(SCREENING_FIELDS))
        result = evaluate_screening(model_dir, test, job.folder, overrides=fields, explain_top_k=3)
        value = result["eval"]["patient"][metric]
    return {"metric": metric, "value": value}


RUNNERS: dict[str, Callable[[StudyConfig, Job], dict[str, Any]]] = {
    "pretrain": run_pretrain,
    "finetune": run_finetune,
    "evaluate": run_evaluate,
}


def run_study(study: StudyConfig, *, dry_run: bool = False) -> dict[str, Any]:
    """Run (or with `dry_run` only list) every job; returns counts of done/skipped jobs."""
    jobs = plan(study)
    root = Path(study.out_dir)
    root.mkdir(parents=True, exist_ok=True)
    (root / "study.json").write_text(study.model_dump_json(indent=1))
    todo = [j for j in jobs if not j.done()]
    if dry_run:
        return {"jobs": jobs, "todo": todo}
    redone: set[str] = set()
    counts = {"skipped": len(jobs) - len(todo), "run": 0}
    for i, job in enumerate(jobs, 1):
        if job.done() and not any(d in redone for d in job.depends):
            continue
        console.rule(f"[{i}/{len(jobs)}] {job.name}")
        started = time.perf_counter()
        try:
            result = RUNNERS[job.kind](study, job)
        except KeyboardInterrupt as exc:
            raise StudyInterrupted(f"interrupted during {job.name}; rerun the study to resume there") from exc
        _mark_done(job, started, result)
        redone.add(job.name)
        counts["run"] += 1
    return counts | {"jobs": len(jobs), "model_dirs": {m: model_output(study, m) for m in study.models}}
