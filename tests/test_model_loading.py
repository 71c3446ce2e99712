"""A fresh head is reported in one INFO line, missing encoder weights in a WARNING; transformers' table is gone."""

from __future__ import annotations

import logging

import pytest
from safetensors.torch import load_file, save_file
from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoModelForTokenClassification

from medadapt.loading import load_pretrained
from medadapt.training import param_groups
from tests.tiny import tiny_bert


@pytest.fixture()
def mlm_folder(tmp_path):
    folder = tmp_path / "mlm"
    tiny_bert(60).save_pretrained(folder)
    return folder


def test_fresh_token_head_is_info_not_a_table(mlm_folder, caplog, capsys):
    caplog.set_level(logging.INFO)
    model, summary = load_pretrained(AutoModelForTokenClassification.from_pretrained, str(mlm_folder), num_labels=3)
    assert summary.fresh_head == ["classifier.bias", "classifier.weight"]
    assert summary.fresh_encoder == []
    assert any(k.startswith("cls.predictions") for k in summary.unused)  # the MLM head stays behind
    assert model.classifier.out_features == 3
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("new task head (classifier.bias, classifier.weight)" in r.getMessage() for r in caplog.records)
    printed = capsys.readouterr()
    assert "LOAD REPORT" not in printed.out + printed.err + caplog.text


def test_pooler_missing_from_mlm_checkpoint_counts_as_head(mlm_folder, caplog):
    """A sequence classifier on a masked-LM save (no pooler) is the normal pretrain → screening path: no alarm."""
    caplog.set_level(logging.INFO)
    _, summary = load_pretrained(AutoModelForSequenceClassification.from_pretrained, str(mlm_folder), num_labels=2)
    assert "bert.pooler.dense.weight" in summary.fresh_head
    assert summary.fresh_encoder == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_fresh_pooler_gets_the_head_rate_a_pretrained_one_keeps_the_body_rate(mlm_folder, tmp_path):
    """head_lr is for what starts random: a pooler the masked-LM save lacked, not one the checkpoint trained."""
    fresh_model, fresh = load_pretrained(
        AutoModelForSequenceClassification.from_pretrained, str(mlm_folder), num_labels=2
    )
    rate = _rates(param_groups(fresh_model, 0.01, 1e-5, 1e-3, fresh.fresh_head_parameters(fresh_model)))
    assert rate[id(fresh_model.bert.pooler.dense.weight)] == rate[id(fresh_model.classifier.weight)] == 1e-3
    assert rate[id(fresh_model.bert.encoder.layer[0].output.dense.weight)] == 1e-5
    fresh_model.save_pretrained(tmp_path / "cls")  # now the checkpoint has a pooler
    model, summary = load_pretrained(AutoModelForSequenceClassification.from_pretrained, str(tmp_path / "cls"))
    assert summary.fresh_head == []
    rate = _rates(param_groups(model, 0.01, 1e-5, 1e-3, summary.fresh_head_parameters(model)))
    assert rate[id(model.bert.pooler.dense.weight)] == 1e-5 and rate[id(model.classifier.weight)] == 1e-3


def _rates(groups):
    return {id(p): g["lr"] for g in groups for p in g["params"]}


def test_missing_encoder_weights_warn_by_name(mlm_folder, caplog):
    weights = mlm_folder / "model.safetensors"
    state = load_file(str(weights))
    lost = sorted(k for k in state if ".layer.1.attention.self.query." in k)
    assert lost
    save_file({k: v for k, v in state.items() if k not in lost}, str(weights), metadata={"format": "pt"})
    caplog.set_level(logging.INFO)
    _, summary = load_pretrained(AutoModelForTokenClassification.from_pretrained, str(mlm_folder), num_labels=3)
    assert summary.fresh_encoder == lost
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2 encoder weights" in warnings[0] and lost[0] in warnings[0]


def test_identical_checkpoint_reports_nothing(mlm_folder, caplog):
    caplog.set_level(logging.INFO)
    _, summary = load_pretrained(AutoModelForMaskedLM.from_pretrained, str(mlm_folder))
    assert summary.to_dict() == {"source": str(mlm_folder), "fresh_head": [], "fresh_encoder": [], "unused": []}
    assert not [r for r in caplog.records if r.name == "medadapt.model"]


def test_transformers_logger_left_as_found(mlm_folder):
    from transformers.utils import logging as hf_logging

    hf_logger = hf_logging.get_logger("transformers.modeling_utils")
    before = (hf_logger.level, list(hf_logger.filters))
    load_pretrained(AutoModelForTokenClassification.from_pretrained, str(mlm_folder), num_labels=2)
    assert (hf_logger.level, list(hf_logger.filters)) == before


@pytest.fixture()
def bare_encoder_folder(tmp_path):
    """An encoder saved without any head (a `BertModel`), as sentence-embedding models are often published."""
    from transformers import BertModel

    folder = tmp_path / "bare"
    BertModel(tiny_bert(60).config).save_pretrained(folder)
    return folder


def test_mlm_head_missing_warns_for_pretraining_and_refuses_perplexity(bare_encoder_folder, caplog):
    from medadapt.errors import ModelLoadError

    caplog.set_level(logging.INFO)
    _, summary = load_pretrained(AutoModelForMaskedLM.from_pretrained, str(bare_encoder_folder), head="warn")
    assert summary.fresh_head and all(k.startswith("cls.predictions") for k in summary.fresh_head)
    assert summary.fresh_encoder == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "medadapt.model"]
    assert len(warnings) == 1 and "no trained head" in warnings[0]
    with pytest.raises(ModelLoadError, match=r"no trained head.*cls\.predictions"):
        load_pretrained(AutoModelForMaskedLM.from_pretrained, str(bare_encoder_folder), head="required")
