"""NER fine-tuning end to end on a trivially learnable synthetic task with a tiny BERT (CPU, seconds).

Entities are fixed distinctive words, so a working pipeline reaches F1 ≥ 0.8 within a few epochs; broken labels,
encoding or decoding would not.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForTokenClassification

from medadapt.cli import main
from medadapt.config import load_config
from medadapt.documents import Document, Span
from medadapt.io import read_documents, write_documents
from medadapt.tasks.ner.batches import class_weights
from medadapt.tasks.ner.config import NerConfig
from medadapt.tasks.ner.data import DataReport, encode_split, load_split
from medadapt.tasks.ner.recipe import finetune_ner, load_tokenizer, predict_documents
from medadapt.tasks.ner.tags import LabelMap
from tests.tiny import tiny_bert, wordpiece_tokenizer

FILLERS = "el paciente presenta con y sin tras dia refiere control desde hoy se inicia por la noche".split()
ENTITIES = {
    "DRUG": ["aspirina", "metformina", "insulina", "enalapril"],
    "DISEASE": ["diabetes", "asma", "gripe", "dolor toracico"],
}


def _doc(doc_id: str, rng: random.Random) -> Document:
    words, spans, pos = [], [], 0
    for _ in range(rng.randint(8, 14)):
        if rng.random() < 0.3:
            label = rng.choice(sorted(ENTITIES))
            word = rng.choice(ENTITIES[label])
            spans.append(Span(pos, pos + len(word), label))
        else:
            word = rng.choice(FILLERS)
        words.append(word)
        pos += len(word) + 1
    return Document(doc_id, " ".join(words) + ".", "es", spans)


def _write_data(root: Path, sizes: dict[str, int], fmt: str = "brat", seed: int = 0) -> dict[str, str]:
    rng = random.Random(seed)
    paths = {}
    for split, n in sizes.items():
        docs = [_doc(f"{split}-{i}", rng) for i in range(n)]
        target = root / (split if fmt == "brat" else f"{split}.jsonl")
        write_documents(docs, target, fmt)
        paths[split] = str(target)
    return paths


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(9)
    texts = [_doc(str(i), rng).text for i in range(200)]
    tokenizer = wordpiece_tokenizer(texts, vocab_size=150)
    folder = tmp_path_factory.mktemp("tiny-model")
    torch.manual_seed(0)
    tiny_bert(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _config(model_dir: Path, data: dict[str, str], out: Path, **training: Any) -> NerConfig:
    settings = {"epochs": 5, "batch_size": 8, "lr": 3e-3, "warmup_ratio": 0.0} | training
    return NerConfig(model=str(model_dir), data=data, training=settings, out_dir=str(out))


@pytest.fixture(scope="module")
def trained(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[NerConfig, dict[str, Any]]:
    root = tmp_path_factory.mktemp("ner-brat")
    config = _config(model_dir, _write_data(root, {"train": 60, "dev": 15, "test": 15}), root / "out")
    return config, finetune_ner(config, show_progress=False)


def test_a_trivially_learnable_task_is_learned(trained: tuple[NerConfig, dict[str, Any]]) -> None:
    _, metrics = trained
    assert metrics["dev"]["f1"] >= 0.8
    assert metrics["test"]["f1"] >= 0.8
    assert metrics["test"]["strict"]["per_type"].keys() == {"DISEASE", "DRUG"}
    assert metrics["test"]["lenient"]["micro"]["f1"] >= metrics["test"]["f1"]


def test_outputs_are_standard_and_complete(trained: tuple[NerConfig, dict[str, Any]]) -> None:
    config, metrics = trained
    out = Path(config.out_dir)
    for name in ("log.jsonl", "data_report.json", "metrics.json", "resolved_config.yaml"):
        assert (out / name).is_file(), name
    assert json.loads((out / "metrics.json").read_text()) == metrics
    report = json.loads((out / "data_report.json").read_text())
    assert report["train"]["documents"] == 60 and report["train"]["encoding"]["lost"] == 0
    assert "inputs" in (out / "resolved_config.yaml").read_text()
    best = AutoModelForTokenClassification.from_pretrained(out / "best-model")
    label_map = LabelMap.from_id2label(best.config.id2label)
    assert label_map.types == ("DISEASE", "DRUG") and list(label_map.labels) == metrics["labels"]
    assert (out / "best-model" / "model.safetensors").is_file()
    # what started fresh is on record: the head, and nothing of the encoder
    assert metrics["model_load"]["fresh_head"] == ["classifier.bias", "classifier.weight"]
    assert metrics["model_load"]["fresh_encoder"] == []
    assert (out / "best-model" / "tokenizer.json").is_file()


def test_brat_predictions_reread_equal_the_decoder_output(trained: tuple[NerConfig, dict[str, Any]]) -> None:
    config, _ = trained
    out = Path(config.out_dir)
    tokenizer = load_tokenizer(str(out / "best-model"))
    model = AutoModelForTokenClassification.from_pretrained(out / "best-model")
    label_map = LabelMap.from_id2label(model.config.id2label)
    _, docs = load_split(config, "test", DataReport())
    windows = encode_split(docs, tokenizer, label_map, config, "test", DataReport(splits={"test": {}}))
    expected = predict_documents(model, docs, windows, label_map, tokenizer.pad_token_id, 4)
    written = {d.id: d for d in read_documents(out / "predictions" / "test", "brat")}
    assert written.keys() == {d.id for d in expected}
    assert any(d.spans for d in expected)
    for doc in expected:
        assert written[doc.id].text == doc.text
        assert [(s.start, s.end, s.label) for s in written[doc.id].spans] == [
            (s.start, s.end, s.label) for s in doc.spans
        ]


def test_inverse_sqrt_class_weights_change_the_loss(trained: tuple[NerConfig, dict[str, Any]]) -> None:
    config, _ = trained
    out = Path(config.out_dir)
    tokenizer = load_tokenizer(str(out / "best-model"))
    _, docs = load_split(config, "train", DataReport())
    label_map = LabelMap.from_documents(docs)
    windows = encode_split(docs, tokenizer, label_map, config, "train", DataReport(splits={"train": {}}))
    weights = class_weights(windows, label_map.num_labels)
    assert weights[0] < weights[1:].min()  # "O" is the most frequent tag, so it weighs least
    logits = torch.randn(50, label_map.num_labels, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0] * 40 + [1] * 10)
    plain = torch.nn.functional.cross_entropy(logits, labels)
    weighted = torch.nn.functional.cross_entropy(logits, labels, weight=weights)
    assert not torch.isclose(plain, weighted)


def test_cli_with_two_seeds_on_jsonl_writes_a_summary(model_dir: Path, tmp_path: Path) -> None:
    data = _write_data(tmp_path, {"train": 24, "dev": 8, "test": 8}, fmt="jsonl", seed=1)
    config = tmp_path / "ner.yaml"
    config.write_text(
        f"model: {model_dir}\ndata: {{train: {data['train']}, dev: {data['dev']}, test: {data['test']}}}\n"
        "training: {epochs: 1, batch_size: 8, class_weighting: inverse_sqrt_frequency}\n"
    )
    out = tmp_path / "runs"
    args = ["finetune", "ner", str(config), "--out", str(out), "--seeds", "1,2", "--no-progress"]
    assert main([*args, "--set", "training.lr=0.001"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [1, 2]
    f1 = summary["test"]["strict_micro_f1"]
    assert len(f1["values"]) == 2 and set(f1) >= {"mean", "sd"}
    for seed in (1, 2):
        assert (out / f"seed-{seed}" / "predictions" / "test" / "predictions.jsonl").is_file()
        assert (out / f"seed-{seed}" / "best-model" / "config.json").is_file()
    assert load_config(NerConfig, config).training.class_weighting == "inverse_sqrt_frequency"


def test_unknown_model_is_a_model_load_error_with_advice(tmp_path: Path) -> None:
    data = _write_data(tmp_path, {"train": 3})
    config = tmp_path / "ner.yaml"
    config.write_text(f"model: {tmp_path / 'missing'}\ndata: {{train: {data['train']}}}\nout_dir: {tmp_path / 'o'}\n")
    assert main(["finetune", "ner", str(config)]) == 2


def test_label_map_preset_and_bad_preset() -> None:
    config = NerConfig(model="m", data={"train": "t"}, label_map="ct-ebm-sp-umls")
    assert config.mapping()["DISO"] == "DISO" and config.mapping()["Dose"] is None
    with pytest.raises(ValueError, match="unknown label_map preset"):
        NerConfig(model="m", data={"train": "t"}, label_map="nope")


def test_evaluate_saved_rescores_the_best_model_like_training(
    trained: tuple[NerConfig, dict[str, Any]], tmp_path: Path
) -> None:
    """Re-scoring the saved model on the test folder gives the training run's test numbers, and `test_resolved`
    (against the span-policy-resolved gold) as well."""
    from medadapt.tasks.ner.recipe import evaluate_saved

    config, metrics = trained
    result = evaluate_saved(config, Path(config.out_dir) / "best-model", config.data.test, tmp_path)
    assert result["test"]["strict"]["micro"] == metrics["test"]["strict"]["micro"]
    assert result["test_resolved"]["strict"]["micro"] == metrics["test_resolved"]["strict"]["micro"]
    assert json.loads((tmp_path / "metrics.json").read_text())["test_resolved"] == result["test_resolved"]


def test_evaluate_saved_scores_a_model_whose_labels_another_tool_ordered(
    trained: tuple[NerConfig, dict[str, Any]], tmp_path: Path
) -> None:
    """run_ner.py sorts its tags ("B-…" first, "O" last): the same model with its classifier rows and id2label
    permuted that way must score exactly the same, so models trained elsewhere can be compared."""
    from medadapt.tasks.ner.recipe import evaluate_saved

    config, metrics = trained
    best = Path(config.out_dir) / "best-model"
    model = AutoModelForTokenClassification.from_pretrained(best)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    foreign = sorted(labels)
    assert foreign != labels
    rows = [labels.index(tag) for tag in foreign]
    with torch.no_grad():
        model.classifier.weight.copy_(model.classifier.weight[rows])
        model.classifier.bias.copy_(model.classifier.bias[rows])
    model.config.id2label = dict(enumerate(foreign))
    model.config.label2id = {tag: i for i, tag in enumerate(foreign)}
    model.save_pretrained(tmp_path / "foreign")
    load_tokenizer(str(best)).save_pretrained(tmp_path / "foreign")
    result = evaluate_saved(config, tmp_path / "foreign", config.data.test, tmp_path / "out")
    assert result["test"]["strict"]["micro"] == metrics["test"]["strict"]["micro"]


def test_the_task_predictor_reproduces_the_runs_test_predictions(trained: tuple[NerConfig, dict[str, Any]]) -> None:
    """`NER.load(best-model).predict(documents)` — the protocol's prediction path — gives the spans the run
    predicted for its test set, with the encoding settings read from the run's resolved_config.yaml."""
    from medadapt.io import read_documents
    from medadapt.tasks.registry import get_task

    config, _ = trained
    out = Path(config.out_dir)
    written = {d.id: d for d in read_documents(out / "predictions" / "test", "brat")}
    test = list(read_documents(config.data.test, "brat"))
    predicted = get_task("ner").load(out / "best-model").predict(test)
    assert [d.id for d in predicted] == [d.id for d in test]
    assert [d.text for d in predicted] == [d.text for d in test]
    assert {d.id: sorted((s.start, s.end, s.label) for s in d.spans) for d in predicted} == {
        i: sorted((s.start, s.end, s.label) for s in d.spans) for i, d in written.items()
    }
    assert sum(len(d.spans) for d in predicted) > 0
