"""The Python API: `load_model(folder)` → a `Model` that predicts strings or `Document`s, one or many.

    from medadapt import load_model
    model = load_model("runs/ner/best-model")
    model.predict("Paciente con diabetes tratada con metformina.")  # NER: [{"start", "end", "label", "text"}]

The task comes from the folder (`registry.task_of_model`); predictions are the task's own (`Task.load`'s
predictor), shaped by `Task.public_prediction` (NER: span records; screening: the patient record).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medadapt.documents import Document


@dataclass
class Model:
    """A loaded model and its task."""

    task: Any  # medadapt.tasks.protocol.Task
    predictor: Any  # the task's Predictor

    @property
    def task_name(self) -> str:
        return str(self.task.name)

    def predict(self, item: str | Document) -> Any:
        """The prediction for one text or document (NER: its spans; screening: its patient record)."""
        return next(iter(self.predict_many([item], batch_size=1)))

    def predict_many(self, items: Iterable[str | Document], *, batch_size: int = 32) -> Iterator[Any]:
        """Predictions for `items`, streamed `batch_size` at a time. Strings get ids "0", "1", ... For screening,
        documents sharing a `group` within one batch are one patient (give a patient's notes in one batch)."""
        from medadapt.predict import batched

        counter = 0
        for chunk in batched(items, max(1, batch_size)):
            documents = []
            for item in chunk:
                documents.append(item if isinstance(item, Document) else Document(str(counter), str(item)))
                counter += 1
            for prediction in self.predictor.predict(documents):
                yield self.task.public_prediction(prediction)


def load_model(model_dir: str | Path) -> Model:
    """The fine-tuned model in `model_dir` (NER or screening, told by the folder), ready to predict."""
    from medadapt.tasks.registry import task_of_model

    task = task_of_model(model_dir)
    return Model(task, task.load(Path(model_dir)))
