"""The patient-screening task as the protocol sees it (`medadapt.tasks.protocol.Task`).

Units are patients with [label, score] (binary tasks: the study's AUROC/AUPRC statistics resample them). The
recipe and torch are imported inside the functions, so handing this object out costs no model library.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medadapt.config import build_config
from medadapt.documents import Document
from medadapt.metrics.stats import auprc_from_rows, auroc_from_rows
from medadapt.tasks.protocol import Task
from medadapt.tasks.run_folder import check_inputs as encoder_inputs_exist
from medadapt.tasks.screening.config import DATA_FIELDS

RESULT_METRICS = ("auroc", "auprc", "sensitivity", "specificity", "ppv", "f1", "macro_f1", "micro_f1")


def _config_class() -> type[Any]:
    from medadapt.tasks.screening.config import ScreeningConfig

    return ScreeningConfig


def _finetune_seed(config: Any, seed: int, out_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    from medadapt.tasks.screening.recipe import run_seed

    return run_seed(config, seed, out_dir, show_progress=show_progress)


def _summarize(config: Any, per_seed: dict[int, dict[str, Any]], out: Path) -> dict[str, Any]:
    from medadapt.tasks.screening.recipe import summarize

    return summarize(config, per_seed, out)


def result_lines(result: dict[str, Any]) -> list[str]:
    """Test patient metrics of one run, or their mean ± sd over seeds."""
    if "runs" in result:
        return [
            f"test patient {name}: {value['mean']:.4f} ± {value['sd']:.4f} over {value['n']} seeds"
            for name, value in result.get("test", {}).items()
            if name in RESULT_METRICS and name != "ppv"
        ]
    if "test" not in result:
        return []
    patient = result["test"]["patient"]
    shown = [k for k in RESULT_METRICS[:-1] if k in patient]
    return ["test patient " + ", ".join(f"{k} {patient[k]:.4f}" for k in shown)]


def _data_fields(settings: dict[str, Any], data: str) -> dict[str, Any]:
    return {k: v for k, v in (settings.get("data") or {}).items() if k in DATA_FIELDS} | {"train": data}


def evaluation_config(settings: dict[str, Any], model_dir: Path, data: str) -> tuple[type[Any], dict[str, Any]]:
    """The data fields the evaluation reads `data` with (chunking, pooling, threshold: the model's own)."""
    from medadapt.tasks.screening.config import ScreeningDataSection

    return ScreeningDataSection, _data_fields(settings, data)


def evaluate(settings: dict[str, Any], model_dir: Path, data: str, out_dir: Path) -> dict[str, float]:
    """Patient-level metrics on `data`; metrics.json, units.json (binary tasks), predictions with evidence."""
    from medadapt.tasks.screening.recipe import evaluate_screening

    cls, values = evaluation_config(settings, model_dir, data)
    # every field, defaults included: the model may have been trained on the study's merged JSONL
    fields = build_config(cls, values, source=str(data)).model_dump(include=set(DATA_FIELDS))
    result = evaluate_screening(model_dir, data, out_dir, overrides=fields, explain_top_k=3)
    return {k: float(v) for k, v in result["eval"]["patient"].items() if isinstance(v, int | float)}


def read_documents(settings: dict[str, Any], path: str) -> list[Document]:
    """The notes of `path`, read with the task's data fields; a note's date (if a date field is set) kept as
    meta["date"], the rest of its reader meta dropped."""
    from medadapt.tasks.screening.config import ScreeningDataSection
    from medadapt.tasks.screening.data import read_notes

    section = ScreeningDataSection(**_data_fields(settings, path))
    notes = read_notes(path, section)
    out = []
    for note in notes:
        date = note.meta.get(section.date_field) if section.date_field else None
        meta = {"date": date} if date is not None else {}
        out.append(Document(note.id, note.text, note.lang, label=note.label, group=note.group, meta=meta))
    return out


def tag_language(document: Document, lang: str) -> Document:
    """Note id and patient prefixed by `lang` (a note without a patient becomes its own patient)."""
    group = f"{lang}:{document.group or document.id}"
    return Document(
        f"{lang}:{document.id}",
        document.text,
        document.lang or lang,
        label=document.label,
        group=group,
        meta=document.meta,
    )


def study_problems(config_data: dict[str, Any]) -> list[str]:
    """A study's statistics resample [label, score] per patient, which only a binary screening model has."""
    kind = (config_data.get("labels") or {}).get("kind", "auto")
    if kind in ("auto", "binary"):
        return []
    return [f"labels.kind: a study compares binary screening models only, not {kind!r} ones"]


@dataclass
class ScreeningPredictor:
    """A saved screening model folder, loaded once: notes in, one record per patient out (scores, the decision at
    the model's own threshold, evidence chunks as note ids and character ranges — no note text)."""

    model_dir: Path
    model: Any
    tokenizer: Any
    space: Any
    thresholds: list[float] | None
    config: Any

    @classmethod
    def load(cls, model_dir: str | Path) -> ScreeningPredictor:
        from medadapt.loading import check_model_folder, load_tokenizer
        from medadapt.tasks.screening.model import ChunkPoolingClassifier
        from medadapt.tasks.screening.recipe import saved_model_config
        from medadapt.training import process_state

        check_model_folder(str(model_dir))
        folder = Path(model_dir)
        model = ChunkPoolingClassifier.from_pretrained(folder).to(process_state().device)
        model.eval()
        settings, space = model.settings, model.label_space()
        evaluation = {"explain_top_k": 3}
        config = saved_model_config(folder, settings, space, folder, settings["data_fields"], evaluation, 32)
        return cls(folder, model, load_tokenizer(str(folder)), space, settings.get("threshold"), config)

    def predict(self, documents: list[Document]) -> list[dict[str, Any]]:
        from medadapt.tasks.screening.chunks import encode_patients
        from medadapt.tasks.screening.evaluation import patient_records
        from medadapt.tasks.screening.scoring import score_split

        patients = unlabelled_patients(documents, self.config.unit, self.config.data.date_field, self.space)
        encoded, _ = encode_patients(patients, self.tokenizer, self.config.chunking, self.space)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        scores = score_split(self.model, encoded, pad, self.config.training.eval_batch_size)
        return patient_records(scores, encoded, self.space, self.thresholds, self.config.evaluation, with_gold=False)


def unlabelled_patients(documents: list[Document], unit: str, date_field: str | None, space: Any) -> list[Any]:
    """Notes → patients (first-seen order, notes newest-first) without labels: the label slot holds the first
    label of the space, which only the encoder's (unused) training target reads."""
    from medadapt.tasks.screening.data import Patient

    by_patient: dict[str, list[Document]] = defaultdict(list)
    for doc in documents:
        by_patient[doc.id if unit == "note" else (doc.group or doc.id)].append(doc)

    def newest_first(note: Document) -> str:
        value = note.meta.get(date_field) if date_field else None
        return str(value) if value is not None else ""

    placeholder = space.labels[0] if space.kind != "multilabel" else ()
    ordered = {pid: sorted(notes, key=newest_first, reverse=True) for pid, notes in by_patient.items()}
    return [Patient(pid, notes, placeholder) for pid, notes in ordered.items()]


def owns_model(model_dir: Path) -> bool:
    """A screening model folder: screening.json (pooling, labels, threshold) beside the weights."""
    return (model_dir / "screening.json").is_file()


def _prediction_sink(out_dir: Path, output_format: str) -> Any:
    from medadapt.tasks.screening.prediction_output import prediction_sink

    return prediction_sink(out_dir, output_format)


SCREENING = Task(
    name="screening",
    description="patient screening on long notes (chunks pooled to notes and patients)",
    config_class=_config_class,
    headline_metric="auroc",
    unit_metrics={"auroc": auroc_from_rows, "auprc": auprc_from_rows},
    finetune_seed=_finetune_seed,
    summarize=_summarize,
    result_lines=result_lines,
    load=ScreeningPredictor.load,
    owns_model=owns_model,
    model_signature="screening.json",
    predicts_units=True,
    prediction_sink=_prediction_sink,
    output_formats=("jsonl",),
    evaluation_config=evaluation_config,
    evaluate=evaluate,
    read_documents=read_documents,
    dev_score=lambda dev: float(dev.get("auprc", dev.get("macro_f1", float("nan")))),
    tag_language=tag_language,
    jsonl_settings={
        "data": {"format": "jsonl", "patient_field": "group", "text_field": "text", "label_field": "label"}
        | {"id_field": "id"}
    },
    model_files=("screening.json",),
    study_problems=study_problems,
    preflight=encoder_inputs_exist,
)
