"""The study as a list of jobs: pre-train each variant once, fine-tune each (task, model, setting, seed), evaluate
each fine-tuned model on every test language of its task.

Every job has a key: a hash of everything that determines its result (resolved settings, the keys of the jobs it
depends on, and the content hashes of its input files). A job folder whose `done.json` carries the same key and
which holds every output the job writes (`required_outputs`) is finished and skipped; anything else there is a
broken or outdated run and is redone, with the reason (`Job.redo_reason`). So rerunning a study after a crash, a
Ctrl-C, a lost file or an edit of one task redoes exactly the jobs whose inputs or outputs changed.

Settings (what a model is fine-tuned on): `<lang>` (in-language), `joint` (all languages of the task), and
`<src>+<k><tgt>` (few-shot: the source language's train set plus k target-language units, chosen in a hash order
that nests, so the 10 are among the 50). Dev data always come from the training side (no target dev in transfer).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from medadapt import __version__
from medadapt.config import deep_merge, file_sha256, read_yaml
from medadapt.errors import InputError
from medadapt.io import expand_inputs
from medadapt.study.config import StudyConfig, TaskEntry
from medadapt.tasks.registry import get_task


@dataclass(frozen=True)
class Part:
    lang: str
    split: str  # train | dev
    k: int | None = None  # few-shot: the first k units only


@dataclass(frozen=True)
class Setting:
    name: str
    train: tuple[Part, ...]
    dev: tuple[Part, ...]
    kind: str  # in_language | joint | few_shot
    source: str | None = None
    target: str | None = None
    k: int | None = None

    @property
    def composite(self) -> bool:
        return len(self.train) > 1 or any(p.k is not None for p in self.train) or len(self.dev) > 1


WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def _model_files(folder: str) -> list[tuple[str, ...]]:
    """A save_pretrained folder: its config and one of the weight file layouts (alternatives in one tuple)."""
    return [(f"{folder}/config.json",), tuple(f"{folder}/{w}" for w in WEIGHTS)]


def required_outputs(kind: str, task_type: str | None) -> list[tuple[str, ...]]:
    """What a finished job leaves in its folder (each entry: alternatives, one must exist). `done.json` alone is
    no proof: a file deleted or lost afterwards would otherwise be reported done and fail much later, in a job
    or the report that reads it."""
    if kind == "pretrain":
        return _model_files("model")
    if kind == "finetune":
        extra = [(f"best-model/{name}",) for name in get_task(task_type).model_files] if task_type else []
        return [*_model_files("best-model"), *extra, ("metrics.json",)]
    return [("metrics.json",), ("units.json",)]  # evaluate: the metrics and the units the statistics resample


@dataclass
class Job:
    kind: str  # pretrain | finetune | evaluate
    name: str
    folder: Path
    key: str
    spec: dict[str, Any]
    depends: list[str] = field(default_factory=list)

    def recorded(self) -> bool:
        """`done.json` carries this job's key (the outputs may still be incomplete: see `missing`)."""
        return _record(self.folder).get("key") == self.key

    def missing(self) -> list[str]:
        """Required outputs that are not there, relative to the job folder (a missing subfolder once, as `dir/`)."""
        out: list[str] = []
        for names in required_outputs(self.kind, self.spec.get("type")):
            if any((self.folder / n).is_file() for n in names):
                continue
            top = names[0].split("/")[0]
            name = f"{top}/" if "/" in names[0] and not (self.folder / top).is_dir() else names[0]
            if name not in out:
                out.append(name)
        return out

    def done(self) -> bool:
        return self.recorded() and not self.missing()

    def redo_reason(self) -> str | None:
        """Why this job must run (None: it is done), in words for the console."""
        record = _record(self.folder)
        if not record:
            if (self.folder / "done.json").exists():
                return "its done.json is unreadable or empty"
            return "it did not finish" if self.folder.exists() else None
        if record.get("key") != self.key:
            return "its settings or inputs changed since it ran"
        missing = self.missing()
        return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing" if missing else None


def _record(folder: Path) -> dict[str, Any]:
    """The folder's done.json as a mapping ({} when absent or unreadable)."""
    try:
        record = json.loads((folder / "done.json").read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def pending(jobs: list[Job]) -> dict[str, str]:
    """Every job that will run, in order, with why: not done, or a job it depends on runs first (its outputs
    then change, so the dependant's record no longer describes them)."""
    todo: dict[str, str] = {}
    for job in jobs:
        first = next((d for d in job.depends if d in todo), None)
        if not job.folder.exists():
            todo[job.name] = "new"
        elif first:
            todo[job.name] = f"it depends on {first}, which is redone"
        elif not job.done():
            todo[job.name] = job.redo_reason() or "new"
    return todo


def digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


@cache
def _file_hash(path: str, size: int, mtime: float) -> str:
    return file_sha256(path)


def inputs_hash(paths: list[str | None]) -> str:
    """Content hash of files, folders (each file found under a folder) and globs, cached per (path, size, mtime);
    an input that names no file hashes as missing."""
    found = []
    for path in (p for p in paths if p):
        try:
            files = expand_inputs([path])
        except InputError:
            found.append((path, "missing"))
            continue
        for file in files:
            stat = file.stat()
            found.append((str(file), _file_hash(str(file), stat.st_size, stat.st_mtime)))
    return digest(found)


def _model_fingerprint(path: str) -> str:
    """A local folder: its config and weight file sizes (hashing GBs of weights on every plan is too slow);
    a hub id: the id."""
    folder = Path(path)
    if not folder.is_dir():
        return path
    files = sorted(p for p in folder.iterdir() if p.is_file())
    return digest([(p.name, p.stat().st_size, p.read_text() if p.name == "config.json" else "") for p in files])


def transfer_settings(study: StudyConfig, task: TaskEntry) -> list[Setting]:
    langs = list(task.languages)
    out = [Setting(lang, (Part(lang, "train"),), (Part(lang, "dev"),), "in_language") for lang in langs]
    if study.transfer.joint and len(langs) > 1:
        out.append(
            Setting(
                "joint",
                tuple(Part(lang, "train") for lang in langs),
                tuple(Part(lang, "dev") for lang in langs),
                "joint",
            )
        )
    for k in study.transfer.few_shot:
        if k <= 0:
            continue
        for source in langs:
            for target in (t for t in langs if t != source):
                out.append(
                    Setting(
                        f"{source}+{k}{target}",
                        (Part(source, "train"), Part(target, "train", k)),
                        (Part(source, "dev"),),
                        "few_shot",
                        source,
                        target,
                        k,
                    )
                )
    return out


def task_template(task: TaskEntry) -> dict[str, Any]:
    """The task config as a dict: template file, then the task's settings (nested merge)."""
    base = read_yaml(task.config) if task.config else {}
    return deep_merge(base, task.settings)


def language_config(task: TaskEntry, lang: str) -> dict[str, Any]:
    return deep_merge(task_template(task), task.languages[lang].settings)


def _data_files(task: TaskEntry, parts: tuple[Part, ...]) -> list[str | None]:
    return [getattr(task.languages[p.lang], p.split) for p in parts]


def model_output(study: StudyConfig, name: str) -> str:
    entry = study.models[name]
    if entry.path is not None:
        return entry.path
    return str(Path(study.out_dir) / "models" / name / "model")


def plan(study: StudyConfig) -> list[Job]:
    """All jobs in execution order."""
    root = Path(study.out_dir)
    jobs: list[Job] = []
    model_keys: dict[str, str] = {}
    for name in study.model_order():
        entry = study.models[name]
        if entry.path is not None:
            model_keys[name] = digest(["path", entry.path, _model_fingerprint(entry.path)])
            continue
        start = entry.start_from or study.base
        assert entry.pretrain is not None
        pretrain_dict = read_yaml(entry.pretrain)
        corpora = [c.get("path") for c in pretrain_dict.get("corpora", []) if isinstance(c, dict)]
        manifests = [str(Path(c) / "manifest.json") for c in corpora if c]
        spec = {"config": entry.pretrain, "start": model_output(study, start), "overrides": entry.overrides}
        key = digest([spec, pretrain_dict, model_keys[start], inputs_hash(manifests), __version__])
        model_keys[name] = key
        jobs.append(
            Job(
                "pretrain",
                f"pretrain {name}",
                root / "models" / name,
                key,
                spec,
                [f"pretrain {start}"] if study.models[start].pretrain else [],
            )
        )
    for task_name, task in study.tasks.items():
        for setting in transfer_settings(study, task):
            files = _data_files(task, setting.train + setting.dev)
            data_key = inputs_hash(files)
            configs = {lang: language_config(task, lang) for lang in task.languages}
            for model in task.models or list(study.models):
                for seed in study.seeds:
                    folder = root / "runs" / task_name / model / setting.name / f"seed-{seed}"
                    spec = {
                        "task": task_name,
                        "type": task.type,
                        "model": model,
                        "model_path": model_output(study, model),
                        "setting": setting.name,
                        "seed": seed,
                    }
                    key = digest([spec, configs, setting, data_key, model_keys[model], __version__])
                    name = f"finetune {task_name}/{model}/{setting.name}/seed-{seed}"
                    depends = [f"pretrain {model}"] if study.models[model].pretrain else []
                    jobs.append(Job("finetune", name, folder, key, spec | {"setting_obj": setting}, depends))
                    tests = [setting.train[0].lang] if not study.transfer.zero_shot else list(task.languages)
                    for lang in tests:
                        test = task.languages[lang].test
                        if test is None:
                            continue
                        eval_key = digest([key, lang, inputs_hash([test]), configs[lang]])
                        jobs.append(
                            Job(
                                "evaluate",
                                f"evaluate {name.split(' ', 1)[1]} on {lang}",
                                folder / "eval" / lang,
                                eval_key,
                                spec | {"test_lang": lang},
                                [name],
                            )
                        )
    return jobs
