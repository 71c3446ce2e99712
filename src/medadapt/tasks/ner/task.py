"""The NER task as the protocol sees it (`medadapt.tasks.protocol.Task`): config, recipe, evaluation, units.

Everything heavy (torch, transformers, the recipe) is imported inside the functions, so the registry can hand this
object out — and a study be validated — without loading a model library.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medadapt.config import RESOLVED_CONFIG_NAME, build_config, deep_merge, read_yaml
from medadapt.documents import Document
from medadapt.metrics.stats import f1_from_count_rows
from medadapt.tasks.protocol import Task
from medadapt.tasks.run_folder import check_inputs as encoder_inputs_exist


def _config_class() -> type[Any]:
    from medadapt.tasks.ner.config import NerConfig

    return NerConfig


def _finetune_seed(config: Any, seed: int, out_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    from medadapt.tasks.ner.recipe import run_seed

    return run_seed(config, seed, out_dir, show_progress=show_progress)


def _summarize(config: Any, per_seed: dict[int, dict[str, Any]], out: Path) -> dict[str, Any]:
    from medadapt.tasks.ner.recipe import summarize

    return summarize(per_seed)


def result_lines(result: dict[str, Any]) -> list[str]:
    """Dev and test strict micro-F1 of one run, or their mean ± sd over seeds."""
    lines = []
    for split in ("dev", "test"):
        if split in result and "f1" in result[split]:
            lines.append(f"{split} strict micro-F1: {result[split]['f1']:.4f}")
        elif split in result:
            f1 = result[split]["strict_micro_f1"]
            lines.append(f"{split} strict micro-F1: {f1['mean']:.4f} ± {f1['sd']:.4f} over {len(f1['values'])} seeds")
    return lines


def evaluation_config(settings: dict[str, Any], model_dir: Path, data: str) -> tuple[type[Any], dict[str, Any]]:
    """The NER config that reads and encodes `data` as the task's settings say (the label map is the model's)."""
    return _config_class(), deep_merge(settings, {"model": str(model_dir), "data": {"train": data, "test": data}})


def evaluate(settings: dict[str, Any], model_dir: Path, data: str, out_dir: Path) -> dict[str, float]:
    """Strict micro-F1 (`f1`) and the other top-level test numbers; metrics.json, units.json, predictions."""
    from medadapt.tasks.ner.recipe import evaluate_saved

    cls, values = evaluation_config(settings, model_dir, data)
    result = evaluate_saved(build_config(cls, values, source=str(data)), model_dir, data, out_dir)
    numbers = {k: float(v) for k, v in result["test"].items() if isinstance(v, int | float)}
    return numbers | {"f1": float(result["test"]["strict"]["micro"]["f1"])}


def read_documents(settings: dict[str, Any], path: str) -> list[Document]:
    """The gold documents of `path` after label renaming (not the span-policy-resolved copy)."""
    from medadapt.tasks.ner.data import DataReport, load_split

    values = deep_merge(settings, {"model": "unused", "data": {"train": path}})
    gold, _ = load_split(build_config(_config_class(), values, source=path), "train", DataReport())
    return gold


TAG_PREFIXES = ("B-", "I-", "E-", "S-", "L-", "U-")


def owns_model(model_dir: Path) -> bool:
    """A token-classification folder (config.json with an IOB/BIOES `id2label`) that is not a screening model
    (a token-pooled screening model saves as a token classifier too, beside its screening.json)."""
    import json

    config = model_dir / "config.json"
    if (model_dir / "screening.json").exists() or not config.is_file():
        return False
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    tags = list((data.get("id2label") or {}).values()) if isinstance(data, dict) else []
    return "O" in tags and all(t == "O" or str(t).startswith(TAG_PREFIXES) for t in tags)


def _prediction_sink(out_dir: Path, output_format: str) -> Any:
    from medadapt.tasks.ner.prediction_output import prediction_sink

    return prediction_sink(out_dir, output_format)


def _public_prediction(document: Document) -> list[dict[str, Any]]:
    from medadapt.tasks.ner.prediction_output import span_records

    return span_records(document)


def tag_language(document: Document, lang: str) -> Document:
    """Id prefixed by `lang`; spans kept, reader meta (BRAT relation lines, source) dropped."""
    return Document(f"{lang}:{document.id}", document.text, document.lang or lang, document.spans, meta={})


@dataclass
class NerPredictor:
    """A fine-tuned NER model folder, loaded once: documents in, the same documents with predicted spans out.

    The label map is the model's own `id2label` (medadapt's or another tool's tag order); the encoding settings
    are those the model was trained with when its run's resolved_config.yaml lies beside it, else the defaults.
    """

    model_dir: Path
    model: Any
    tokenizer: Any
    tags: Any  # the tag vocabulary (LabelMap)
    order: list[int] | None
    config: Any  # NerConfig: encoding and batch size

    @classmethod
    def load(cls, model_dir: str | Path) -> NerPredictor:
        from transformers import AutoModelForTokenClassification

        from medadapt.loading import load_tokenizer
        from medadapt.tasks.ner.tags import LabelMap
        from medadapt.training import process_state

        folder = Path(model_dir)
        tokenizer = load_tokenizer(str(folder))
        model = AutoModelForTokenClassification.from_pretrained(folder).to(process_state().device)
        model.eval()
        tags, order = LabelMap.from_foreign_id2label(model.config.id2label)
        return cls(folder, model, tokenizer, tags, order, _trained_settings(folder))

    def predict(self, documents: list[Document]) -> list[Document]:
        from dataclasses import replace

        from medadapt.tasks.ner.data import encode_split
        from medadapt.tasks.ner.recipe import predict_documents

        bare = [replace(d, spans=[]) for d in documents]
        windows = encode_split(bare, self.tokenizer, self.tags, self.config, "predict", _predict_report())
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        batch = self.config.training.eval_batch_size
        return predict_documents(self.model, bare, windows, self.tags, pad, batch, self.order)


def _predict_report() -> Any:
    from medadapt.tasks.ner.data import DataReport

    report = DataReport()
    report.splits["predict"] = {}
    return report


def _trained_settings(model_dir: Path) -> Any:
    """The encoding and batch settings of the run that saved `model_dir` (its resolved_config.yaml one level up),
    or the defaults for a model trained elsewhere."""
    cls = _config_class()
    recorded = model_dir.parent / RESOLVED_CONFIG_NAME
    given = read_yaml(recorded).get("config", {}) if recorded.is_file() else {}
    kept = {k: given[k] for k in ("encoding", "training") if isinstance(given.get(k), dict)}
    return build_config(cls, {"model": str(model_dir), "data": {"train": str(model_dir)}, **kept}, source=str(recorded))


NER = Task(
    name="ner",
    description="clinical named-entity recognition (BRAT/CoNLL/JSONL entities)",
    config_class=_config_class,
    headline_metric="f1",
    unit_metrics={"f1": f1_from_count_rows},
    finetune_seed=_finetune_seed,
    summarize=_summarize,
    result_lines=result_lines,
    load=NerPredictor.load,
    owns_model=owns_model,
    model_signature="config.json with a token-classification id2label of IOB/BIOES tags (O, B-X, I-X)",
    prediction_sink=_prediction_sink,
    output_formats=("brat", "jsonl"),
    public_prediction=_public_prediction,
    evaluation_config=evaluation_config,
    evaluate=evaluate,
    read_documents=read_documents,
    dev_score=lambda dev: float(dev["f1"]),
    unit_of=lambda document: document.id,
    tag_language=tag_language,
    jsonl_settings={"data": {"format": "jsonl"}, "label_map": None},
    preflight=encoder_inputs_exist,
)
