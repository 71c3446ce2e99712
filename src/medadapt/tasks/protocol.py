"""The task protocol: the questions every fine-tuning task answers, so that the study runner, the CLI and the
prediction paths ask them without knowing which task they talk to.

A task is one small frozen dataclass of plain functions (torchtune's recipes are the model: no inheritance tree,
no base class to override). It says
  - its config class and its headline metric,
  - how it fine-tunes one seed into a folder (`finetune_seed`) and sums several seeds up (`summarize`);
    `finetune` runs every seed of a config in the one multi-seed layout of `medadapt.tasks.seeds`,
  - how it loads a saved model and predicts documents (`load` → `Predictor`; NER: documents with spans;
    screening: one record per patient with scores, decisions and evidence),
  - how it evaluates a saved model on a labelled file (`evaluation_config` validates, `evaluate` runs), writing
    `metrics.json` and the test units (`units.json`),
  - how its test units turn into each metric it reports (`unit_metrics`, for the study's bootstrap and paired
    tests), and which dev number picks the best epoch (`dev_score`),
  - how it reads a labelled split as documents, which unit a document belongs to, and which settings read those
    documents back from medadapt JSONL (the study's joint and few-shot training sets).

`medadapt.tasks.registry` maps the study file's `type:` (and the CLI's task names) to these objects.

Files a task's runs leave, which the study runner checks before it calls a run finished:
  fine-tuning:  `metrics.json` and `best-model/` (a `save_pretrained` folder, plus `model_files`)
  evaluation:   `metrics.json` and `units.json` ({"columns": [...], "ids": [...], "rows": [[...], ...]})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from medadapt.documents import Document

UnitMetric = Callable[[np.ndarray], float]
"""A metric computed from test-unit rows (one row per unit, the columns of `units.json`)."""


@runtime_checkable
class Predictor(Protocol):
    """A saved model, loaded once, that turns documents into the task's predictions."""

    model_dir: Path

    def predict(self, documents: Sequence[Document]) -> list[Any]:
        """Predictions for `documents` (NER: the documents with predicted spans, in their order; screening: one
        record per patient with scores, decisions and evidence)."""
        ...


def unit_is_group_or_id(document: Document) -> str:
    """A document's unit: its group (a screening patient) if it has one, else the document itself."""
    return document.group or document.id


def prefix_language(document: Document, lang: str) -> Document:
    """Ids and groups prefixed by `lang` (documents of several languages never share one); reader meta dropped."""
    group = f"{lang}:{document.group}" if document.group is not None else None
    return replace(document, id=f"{lang}:{document.id}", lang=document.lang or lang, group=group, meta={})


def no_problems(config_data: dict[str, Any]) -> list[str]:
    return []


def owns_nothing(model_dir: Path) -> bool:
    """The default answer to "is this model folder mine?": no (a task without saved models to predict with)."""
    return False


def as_is(prediction: Any) -> Any:
    return prediction


def data_files(config: Any) -> list[Path]:
    """The data files a task config names (train, dev, test), expanded: what resolved_config.yaml and --resume
    hash; an InputError names the first that does not exist."""
    from medadapt.io import expand_inputs

    return expand_inputs([p for p in (config.data.train, config.data.dev, config.data.test) if p])


def data_files_exist(config: Any) -> None:
    """The data files a config names exist (an InputError naming the first that does not)."""
    data_files(config)


@dataclass(frozen=True)
class Task:
    """What every fine-tuning task answers. Functions, not methods: a task is assembled, not subclassed."""

    name: str  # the study file's `type:` and the CLI's sub-command, e.g. "ner"
    description: str  # one line for help text
    config_class: Callable[[], type[Any]]  # the pydantic model of the task's YAML (imported on call)
    headline_metric: str  # the study's default primary metric; a key of `unit_metrics`
    unit_metrics: Mapping[str, UnitMetric]  # every metric the study can compute from this task's units
    # (config, seed, out_dir, *, show_progress) -> the contents of metrics.json (best_epoch, epochs_run, interrupted)
    finetune_seed: Callable[..., dict[str, Any]]
    summarize: Callable[[Any, dict[int, dict[str, Any]], Path], dict[str, Any]]  # (config, per seed, out) -> summary
    result_lines: Callable[[dict[str, Any]], list[str]]  # what `finetune` prints about its result
    load: Callable[[str | Path], Predictor]  # a saved fine-tuned model folder, ready to predict
    # (task settings, model_dir, data) -> (config class, data) that `evaluate` will build: validated before a study
    evaluation_config: Callable[[dict[str, Any], Path, str], tuple[type[Any], dict[str, Any]]]
    # (task settings, model_dir, data, out_dir) -> headline numbers by metric name; writes metrics.json, units.json
    evaluate: Callable[[dict[str, Any], Path, str, Path], dict[str, float]]
    read_documents: Callable[[dict[str, Any], str], list[Document]]  # (task settings, path) -> labelled documents
    dev_score: Callable[[dict[str, Any]], float]  # the model-selection number of one dev record in log.jsonl
    unit_of: Callable[[Document], str] = unit_is_group_or_id
    tag_language: Callable[[Document, str], Document] = prefix_language
    jsonl_settings: Mapping[str, Any] = field(default_factory=lambda: {"data": {"format": "jsonl"}})
    model_files: tuple[str, ...] = ()  # files a saved model folder holds besides config and weights
    study_problems: Callable[[dict[str, Any]], list[str]] = no_problems  # what a study cannot compare in a config
    # before `finetune` writes anything: what is missing or does not fit (model folder, tokenizer, data files)
    preflight: Callable[[Any], None] = data_files_exist
    # prediction with a saved model (`medadapt predict`, `medadapt.load_model`):
    owns_model: Callable[[Path], bool] = owns_nothing  # is this model folder one of this task's? (cheap: reads json)
    model_signature: str = ""  # what `owns_model` looks for, for the error naming what a foreign folder lacks
    # True when one prediction needs several documents (a screening patient's notes): predict reads every input
    # first and batches whole units (`unit_of`); False streams documents in chunks
    predicts_units: bool = False
    # (out_dir, output format) -> the sink that writes this task's predictions (`medadapt.predict.PredictionSink`)
    prediction_sink: Callable[[Path, str], Any] | None = None
    output_formats: tuple[str, ...] = ()  # what `--output-format` may name; the first is the default
    public_prediction: Callable[[Any], Any] = as_is  # one prediction as the Python API returns it

    def finetune(self, config: Any, *, show_progress: bool = True, resume: bool = False) -> dict[str, Any]:
        """Every seed of `config` into `config.out_dir` (one seed there, several in seed-<n>/ plus summary.json);
        `resume` keeps seeds that finished with the same settings and inputs."""
        from medadapt.tasks.seeds import finetune_seeds

        return finetune_seeds(self, config, show_progress=show_progress, resume=resume)
