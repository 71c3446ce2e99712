"""The task protocol: the questions every fine-tuning task answers, so that the study runner, the CLI and the
prediction paths ask them without knowing which task they talk to.

A task is one object (the model is torchtune's recipes: a small set of plain functions per task, no inheritance
tree) that says
  - its config class and its headline metric,
  - how it fine-tunes one seed into a folder, and every seed of a config (the CLI's `finetune <task>`),
  - how it loads a saved model and predicts documents (NER: spans; screening: scores, decisions, evidence),
  - how it evaluates a saved model on a labelled file, writing `metrics.json` and the test units (`units.json`),
  - how its test units turn into each metric it reports (for the study's bootstrap and paired tests),
  - how it reads a labelled split as documents, which unit a document belongs to, and which data settings read
    those documents back from medadapt JSONL (the study's joint and few-shot training sets).

`medadapt.tasks.registry` maps the study file's `type:` (and the CLI's task names) to these objects.

Files a task's runs must leave, which the study runner checks before it calls a run finished:
  fine-tuning:  `metrics.json` and `best-model/` (a `save_pretrained` folder)
  evaluation:   `metrics.json` and `units.json` ({"columns": [...], "ids": [...], "rows": [[...], ...]})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from medadapt.config import StrictModel
from medadapt.documents import Document

UnitMetric = Callable[[np.ndarray], float]
"""A metric computed from test-unit rows (one row per unit, the columns of `units.json`)."""


@runtime_checkable
class Predictor(Protocol):
    """A saved model, loaded once, that turns documents into the task's predictions."""

    model_dir: Path

    def predict(self, documents: Sequence[Document]) -> list[Any]:
        """Predictions for `documents` in their order (NER: documents with predicted spans; screening: one
        record per patient with scores, decisions and evidence)."""
        ...


@runtime_checkable
class Task(Protocol):
    """What every fine-tuning task answers; see the module docstring for the files its runs leave."""

    name: str  # the study file's `type:` and the CLI's sub-command, e.g. "ner"
    description: str  # one line for help text
    headline_metric: str  # the study's default primary metric; a key of `unit_metrics`
    unit_metrics: Mapping[str, UnitMetric]  # every metric the study can compute from this task's units

    def config_class(self) -> type[StrictModel]:
        """The pydantic model of the task's YAML (the same file `medadapt finetune <task>` takes)."""
        ...

    def finetune(self, config: Any, *, show_progress: bool = True) -> dict[str, Any]:
        """Every seed of `config` into `config.out_dir` (one seed there, several in seed-<n>/ plus summary.json)."""
        ...

    def finetune_seed(self, config: Any, seed: int, out_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
        """One fine-tuning run; returns the contents of its metrics.json (with best_epoch, epochs_run and
        interrupted)."""
        ...

    def result_lines(self, result: dict[str, Any]) -> list[str]:
        """What `finetune` prints about a result of `finetune`: the headline scores."""
        ...

    def load(self, model_dir: str | Path) -> Predictor:
        """A saved fine-tuned model folder, ready to predict."""
        ...

    def evaluate(self, settings: dict[str, Any], model_dir: Path, data: str, out_dir: Path) -> dict[str, float]:
        """Score a saved model on the labelled file `data`, read as the task config `settings` says; writes
        metrics.json, units.json and predictions into `out_dir`; returns the headline numbers by metric name."""
        ...

    def read_documents(self, settings: dict[str, Any], path: str) -> list[Document]:
        """A labelled split as the task's documents, read as the task config `settings` says (labels mapped)."""
        ...

    def unit_of(self, document: Document) -> str:
        """The test/training unit a document belongs to (a NER document; a screening patient)."""
        ...

    def tag_language(self, document: Document, lang: str) -> Document:
        """The document with ids (and unit ids) prefixed by `lang`, ready to be written as medadapt JSONL, so
        documents of several languages never share an id."""
        ...

    def jsonl_settings(self) -> dict[str, Any]:
        """Task-config settings that read documents written by `medadapt.io.write_documents(..., "jsonl")`."""
        ...

    def dev_score(self, dev: dict[str, Any]) -> float:
        """The model-selection score in one dev record of log.jsonl (for learning curves)."""
        ...
