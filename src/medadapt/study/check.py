"""Everything a study can get wrong before it runs, found before anything on disk is touched (and in `--dry-run`).

A study's task settings are free-form mappings merged into each run's task config, so a typo in a key or a value
of the wrong type is only caught when that config is built — which used to happen job by job, after earlier jobs
had run and after the job's folder had been cleared. Here every job's resolved config is built (fine-tuning,
evaluation and pre-training) and every model and data path is looked up, and all problems come back as one error:
each distinct problem once, with the first job it concerns and how many more.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError

from medadapt.config import apply_overrides, read_yaml
from medadapt.errors import ConfigError, InputError
from medadapt.io import expand_inputs
from medadapt.study.config import StudyConfig
from medadapt.study.plan import Job, plan
from medadapt.tasks.registry import get_task

OFFLINE_VALUES = {"1", "on", "yes", "true"}


WHERE_KEYS_LIVE = (
    "(a job's keys are those of its task config, as `medadapt finetune <task>` takes it, or of its pretrain "
    "config; set in a task's `settings`, its `config` template, a language's `settings` or a model's `overrides`)"
)


class StudyCheckError(ConfigError):
    """The study cannot run as configured; nothing was run, written or removed."""


def _validation_lines(cls: type[BaseModel], data: dict[str, Any]) -> list[str]:
    """`key.path: what is wrong (got value)` per problem; none when `data` is a valid `cls`."""
    try:
        cls.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            value = err.get("input")
            got = "" if isinstance(value, dict) or err["type"] == "extra_forbidden" else f" (got {value!r})"
            lines.append(f"{loc}: {err['msg']}{got}")
        return lines
    return []


def job_problems(study: StudyConfig, job: Job) -> list[str]:
    """What is wrong with the resolved config of one job (empty: it would start)."""
    from medadapt.study.execute import evaluate_data, finetune_data, pretrain_overrides

    try:
        if job.kind == "finetune":
            cls, data = finetune_data(study, job, write_data=False)
            return _validation_lines(cls, data) or get_task(job.spec["type"]).study_problems(data)
        if job.kind == "evaluate":
            return _validation_lines(*evaluate_data(study, job))
        from medadapt.pretrain.config import PretrainConfig

        data = apply_overrides(read_yaml(job.spec["config"]), pretrain_overrides(job))
        return [f"{job.spec['config']}: {line}" for line in _validation_lines(PretrainConfig, data)]
    except ConfigError as exc:  # an unreadable template or pretrain config, a malformed override
        return [str(exc)]


def config_problems(study: StudyConfig, jobs: list[Job]) -> list[str]:
    """Each distinct config problem once, with the first job that has it and how many more do."""
    seen: dict[str, list[str]] = {}
    for job in jobs:
        for line in job_problems(study, job):
            seen.setdefault(line, []).append(job.name)
    out = []
    for line, names in seen.items():
        more = f" (and {len(names) - 1} more job{'s' if len(names) > 2 else ''})" if len(names) > 1 else ""
        out.append(f"{names[0]}{more}: {line}")
    return out


def _offline() -> bool:
    """Read at call time: huggingface_hub reads HF_HUB_OFFLINE once, at import."""
    return any(
        os.environ.get(v, "").strip().lower() in OFFLINE_VALUES for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _in_hub_cache(repo_id: str) -> bool:
    """Whether the hub cache holds the model's config (offline, transformers loads it from there)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # an id the hub would reject is not cached either
        return False


def model_problem(name: str, path: str) -> str | None:
    """Why model `name` (a local folder or a hub id) cannot be loaded, as models are resolved at run time
    (a folder first, else the hub, which HF_HUB_OFFLINE=1 limits to the local cache); None when it can."""
    folder = Path(path)
    if folder.is_dir():
        if (folder / "config.json").is_file():
            return None
        return f"model {name!r}: {path} holds no config.json (not a save_pretrained model folder)"
    if folder.exists():
        return f"model {name!r}: {path} is a file, not a model folder"
    if folder.is_absolute() or path.startswith((".", "~")):
        return f"model {name!r}: no such model folder: {path}"
    if _offline() and not _in_hub_cache(path):
        return (
            f"model {name!r}: {path!r} is not a local folder, and HF_HUB_OFFLINE=1 forbids fetching it from the "
            "Hugging Face hub (it is not in the local cache); give a local folder, or download it once online"
        )
    return None


def _corpus_problems(name: str, config: str) -> list[str]:
    """The corpus folders a pre-training model's config names (each needs the manifest.json corpus build writes)."""
    try:
        corpora = read_yaml(config).get("corpora") or []
    except ConfigError:
        return []  # reported with the job's config
    out = []
    for corpus in corpora:
        path = corpus.get("path") if isinstance(corpus, dict) else None
        if path and not (Path(path) / "manifest.json").is_file():
            what = "no such corpus folder" if not Path(path).exists() else "not a corpus folder (no manifest.json)"
            where = "" if Path(path).is_absolute() else f" (pre-training reads it relative to {Path.cwd()})"
            out.append(f"model {name!r} ({config}): {what}: {path}{where}")
    return out


def config_file_problems(study: StudyConfig) -> list[str]:
    """The pretrain configs and task templates the study names that do not exist (without them, no plan)."""
    out = []
    for name, entry in study.models.items():
        if entry.pretrain is not None and not Path(entry.pretrain).is_file():
            out.append(f"model {name!r}: no such pretrain config: {entry.pretrain}")
    for task_name, task in study.tasks.items():
        if task.config is not None and not Path(task.config).is_file():
            out.append(f"task {task_name!r}: no such task config (template): {task.config}")
    return out


def path_problems(study: StudyConfig) -> list[str]:
    """Every model and data path of the study that does not exist (data: files, folders or globs)."""
    out = []
    for name, entry in study.models.items():
        if entry.path is not None:
            problem = model_problem(name, entry.path)
            out += [problem] if problem else []
        if entry.pretrain is not None and Path(entry.pretrain).is_file():
            out += _corpus_problems(name, entry.pretrain)
    out += config_file_problems(study)
    for task_name, task in study.tasks.items():
        for lang, data in task.languages.items():
            for split in ("train", "dev", "test"):
                path = getattr(data, split)
                if path is None:
                    continue
                try:
                    expand_inputs([path])
                except InputError as exc:
                    out.append(f"task {task_name!r} ({lang}) {split}: {exc.reason}: {exc.path}")
    return out


def check_study(study: StudyConfig) -> list[Job]:
    """The study's jobs, or one StudyCheckError listing every config and path problem of the study (a missing
    config file among them: then the jobs cannot be planned, and the paths are all that is reported)."""
    paths = path_problems(study)
    try:
        jobs = plan(study)
    except ConfigError as exc:  # a template or pretrain config missing (listed in `paths`) or unreadable
        _raise(paths if config_file_problems(study) else [*paths, str(exc)], configs=False)
    configs = config_problems(study, jobs)
    if configs or paths:
        _raise(configs + paths, configs=bool(configs))
    return jobs


def _raise(problems: list[str], *, configs: bool) -> NoReturn:
    lines = "\n".join(f"  {p}" for p in problems)
    hint = f"\n{WHERE_KEYS_LIVE}" if configs else ""
    raise StudyCheckError(f"the study cannot run as configured (nothing was run, written or removed):\n{lines}{hint}")
