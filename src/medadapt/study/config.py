"""`StudyConfig`: one YAML declares the whole comparison — models, tasks per language, seeds, transfer, statistics.

Models are either existing folders/hub ids (`path`) or further pre-training runs (`pretrain`: a pretrain config,
started from another model of the study). Tasks reference an ordinary task config (the same YAML `medadapt finetune`
takes) as a template; the study fills in model, data and output folder per run, so a study never invents settings a
single run could not have. Relative paths are relative to the study file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from medadapt.config import StrictModel, build_config, read_yaml
from medadapt.errors import ConfigError
from medadapt.tasks.registry import get_task


class ModelEntry(StrictModel):
    path: str | None = None  # an existing save_pretrained folder or hub id
    pretrain: str | None = None  # a pretrain config YAML: this model is further pre-trained ...
    start_from: str | None = None  # ... from this study model (default: the base)
    overrides: list[str] = Field(default_factory=list)  # --set style overrides for the pretrain config
    languages: list[str] = Field(
        default_factory=list
    )  # languages of its (further) pre-training text, shown in the transfer analysis
    label: str | None = None  # display name

    @model_validator(mode="after")
    def _one_source(self) -> ModelEntry:
        if (self.path is None) == (self.pretrain is None):
            raise ValueError("give exactly one of `path` (an existing model) or `pretrain` (a pretrain config)")
        return self


class LanguageData(StrictModel):
    train: str
    dev: str | None = None
    test: str | None = None
    settings: dict[str, Any] = Field(
        default_factory=dict
    )  # task-config settings for this language only (label_map, format, ...)


class TaskEntry(StrictModel):
    type: str  # a task of medadapt.tasks.registry (built in: ner, screening)
    config: str | None = None  # template task config YAML (model/data/out_dir are set per run)
    settings: dict[str, Any] = Field(
        default_factory=dict
    )  # nested overrides applied over the template for every run of the task
    languages: dict[str, LanguageData]
    metric: str | None = None  # primary metric (default: the task's headline metric; ner: f1, screening: auroc)
    models: list[str] | None = None  # run only these study models on this task (default: all)

    @model_validator(mode="after")
    def _known_task_and_comparable_metric(self) -> TaskEntry:
        """The type must be a registered task, and the metric one its test units give (NER: [tp, fp, fn] per
        document; screening: [label, score] per patient); any other fails at evaluation or, worse, computes
        nonsense from the wrong units."""
        try:
            task = get_task(self.type)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        allowed = tuple(task.unit_metrics)
        if self.metric is not None and self.metric not in allowed:
            raise ValueError(f"metric {self.metric!r}: a {self.type} task in a study compares {' or '.join(allowed)}")
        return self

    def primary_metric(self) -> str:
        return self.metric or get_task(self.type).headline_metric


class TransferSection(StrictModel):
    zero_shot: bool = True  # every run is also tested on the other languages of its task
    joint: bool = False  # one more setting: trained on all languages of the task together
    few_shot: list[int] = Field(
        default_factory=list
    )  # k target-language training units added to each source language's train set
    few_shot_seed: int = 0  # which k units (hash order, nested: the 10 are among the 50)


class TaskContrast(StrictModel):
    """Two tasks on the same test data compared model by model (e.g. screening with windows vs head-only
    truncation): paired on the same test units, in the same Holm family as the variant comparisons."""

    task: str
    baseline: str  # the task `task` is compared against


class StatisticsSection(StrictModel):
    bootstrap_resamples: int = Field(1000, ge=10)
    permutations: int = Field(1000, ge=10)
    confidence: float = Field(0.95, gt=0, lt=1)
    alpha: float = Field(0.05, gt=0, lt=1)
    seed: int = 0


class StudyConfig(StrictModel):
    name: str = "study"
    base: str  # the model every variant is compared with
    models: dict[str, ModelEntry]
    tasks: dict[str, TaskEntry]
    seeds: list[int] = Field([1, 2, 3], min_length=1)
    transfer: TransferSection = TransferSection()
    statistics: StatisticsSection = StatisticsSection()
    contrasts: list[TaskContrast] = Field(default_factory=list)
    synthetic: bool = False  # the report says so in its first line
    out_dir: str = "runs/study"

    @model_validator(mode="after")
    def _references(self) -> StudyConfig:
        if self.base not in self.models:
            raise ValueError(f"base {self.base!r} is not one of the models {sorted(self.models)}")
        for name, entry in self.models.items():
            start = entry.start_from or self.base
            if entry.pretrain is not None and (start not in self.models or start == name):
                raise ValueError(f"model {name!r}: start_from {start!r} must be another model of the study")
        for task_name, task in self.tasks.items():
            unknown = sorted(set(task.models or ()) - set(self.models))
            if unknown:
                raise ValueError(f"task {task_name!r}: unknown models {unknown}; models: {sorted(self.models)}")
            if self.base not in (task.models or [self.base]):
                raise ValueError(f"task {task_name!r}: its models must include the base {self.base!r}")
        for contrast in self.contrasts:
            names = (contrast.task, contrast.baseline)
            missing = [n for n in names if n not in self.tasks]
            if missing:
                raise ValueError(f"contrast {names}: unknown tasks {missing}; tasks: {sorted(self.tasks)}")
            a, b = (self.tasks[n] for n in names)
            if a.type != b.type or a.primary_metric() != b.primary_metric():
                raise ValueError(f"contrast {names}: the tasks must share type and metric to be compared")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds has duplicates: {self.seeds}")
        return self

    def model_order(self) -> list[str]:
        """Models in dependency order (a variant after the model it starts from)."""
        done: list[str] = []

        def visit(name: str, stack: tuple[str, ...]) -> None:
            if name in done:
                return
            if name in stack:
                raise ValueError(f"models start from each other in a cycle: {' → '.join((*stack, name))}")
            entry = self.models[name]
            if entry.pretrain is not None:
                visit(entry.start_from or self.base, (*stack, name))
            done.append(name)

        for name in self.models:
            visit(name, ())
        return done


def _absolute(value: str | None, root: Path, *, file: bool = True) -> str | None:
    """Relative to the study file. A model `path` that is not a folder there stays as given (a hub id)."""
    if value is None or Path(value).is_absolute():
        return value
    candidate = root / value
    if file or candidate.exists() or value.startswith("."):
        return str(candidate.resolve())
    return value


def load_study(path: str | Path, overrides: list[str] | None = None) -> StudyConfig:
    """Read a study YAML; paths inside it are made absolute relative to the file."""
    from medadapt.config import apply_overrides

    path = Path(path)
    root = path.resolve().parent
    data = apply_overrides(read_yaml(path), overrides or [])
    study = build_config(StudyConfig, data, source=str(path))
    for entry in study.models.values():
        entry.path = _absolute(entry.path, root, file=False)
        entry.pretrain = _absolute(entry.pretrain, root)
    for task in study.tasks.values():
        task.config = _absolute(task.config, root)
        for lang in task.languages.values():
            for split in ("train", "dev", "test"):
                setattr(lang, split, _absolute(getattr(lang, split), root))
    if not Path(study.out_dir).is_absolute():
        study.out_dir = str((root / study.out_dir).resolve())
    return study
