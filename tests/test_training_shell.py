"""The shared training shell, the one loader's one offline message, and the one training vocabulary (old keys load).

The shell: precision mapping, the JSONL log, the atomic save (no half model folder), and both loops built on it.
The loader: one offline text, said the same by every wrapper. The vocabulary: `learning_rate`, `head_learning_rate`,
`batch_size` in both `training:` sections; `lr`, `head_lr`, `per_device_batch_size` still load (files, `--set`,
recorded runs) with a one-line note, and giving an old and a new name together is an error.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field
from transformers import AutoModelForMaskedLM, AutoModelForTokenClassification

from medadapt import config as config_module
from medadapt import loading
from medadapt.config import StrictModel, build_config, load_config
from medadapt.errors import ConfigError, ModelLoadError
from medadapt.pretrain.config import PretrainConfig
from medadapt.pretrain.config import TrainingSection as PretrainTraining
from medadapt.training import TrainingSection
from medadapt.training_shell import JsonlLog, resolve_precision, save_pretrained_atomically
from tests.tiny import tiny_bert, wordpiece_tokenizer

SRC = Path(__file__).resolve().parents[1] / "src" / "medadapt"


# ------------------------------------------------------------------ the shell
@pytest.mark.parametrize(
    ("setting", "cuda", "bf16", "expected"),
    [
        ("auto", False, False, "no"),  # CPU: full precision (autocast there is slower)
        ("auto", True, True, "bf16"),
        ("auto", True, False, "fp16"),  # a GPU without bf16
        ("fp32", True, True, "no"),
        ("fp32", False, False, "no"),
        ("bf16", True, False, "bf16"),  # an explicit setting is taken as given
        ("fp16", False, False, "fp16"),
    ],
)
def test_precision_maps_to_accelerates_mixed_precision(setting: str, cuda: bool, bf16: bool, expected: str) -> None:
    assert resolve_precision(setting, cuda=cuda, bf16=bf16) == expected


def test_both_loops_use_the_one_shell() -> None:
    import medadapt.pretrain.loop as loop
    import medadapt.pretrain.resume as resume
    import medadapt.training as training
    import medadapt.training_shell as shell

    assert training.param_groups is loop.param_groups is resume.param_groups is shell.param_groups
    assert training.process_state is shell.process_state
    for gone in ("_precision", "_nullcontext"):
        assert not hasattr(training, gone) and not hasattr(loop, gone)
    for module in (training, loop):
        source = Path(module.__file__).read_text()
        assert "Accelerator(" not in source and "json.dumps(record)" not in source and "rmtree" not in source


def test_jsonl_log_is_written_by_the_main_process_and_kept_by_all(tmp_path: Path) -> None:
    main, other = JsonlLog(tmp_path / "log.jsonl", main=True), JsonlLog(tmp_path / "other.jsonl", main=False)
    for log in (main, other):
        log.start()
        log.write({"step": 1, "loss": 2.5})
        log.write({"step": 2, "loss": 2.0})
    assert [json.loads(line) for line in main.path.read_text().splitlines()] == main.history
    assert main.history == other.history == [{"step": 1, "loss": 2.5}, {"step": 2, "loss": 2.0}]
    assert not other.path.exists()
    main.replace(main.history[:1])  # a resumed run drops what came after its checkpoint
    assert main.path.read_text() == '{"step": 1, "loss": 2.5}\n' and main.history == [{"step": 1, "loss": 2.5}]
    shared: list[dict[str, Any]] = []
    JsonlLog(tmp_path / "x.jsonl", main=False, history=shared).write({"step": 3})
    assert shared == [{"step": 3}]  # the loops hand in the list their result/plot reads


class _FullDisk:
    """A tokenizer whose save fails after the model's files are written: the moment a half folder would appear."""

    def save_pretrained(self, folder: Path) -> None:
        raise OSError("No space left on device")


def test_atomic_save_leaves_no_half_model_folder(tmp_path: Path) -> None:
    model, target = tiny_bert(60), tmp_path / "best-model"
    with pytest.raises(OSError, match="No space"):
        save_pretrained_atomically(model, _FullDisk(), target)
    assert not target.exists()  # no config.json that says "a model is here" over missing pieces

    tokenizer = wordpiece_tokenizer(["paciente con diabetes"] * 4, vocab_size=60)
    assert save_pretrained_atomically(model, tokenizer, target) == target
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in target.iterdir()}
    with pytest.raises(OSError, match="No space"):
        save_pretrained_atomically(model, _FullDisk(), target)
    assert (target / "model.safetensors").is_file()  # a failed save keeps the previous model whole
    save_pretrained_atomically(model, None, target)  # without a tokenizer: the model alone
    assert [p.name for p in tmp_path.iterdir()] == ["best-model"]  # the temp folder is gone
    AutoModelForMaskedLM.from_pretrained(target)


# ------------------------------------------------------------------ the one loader, the one offline message
def test_the_offline_advice_has_one_text_in_the_source() -> None:
    sources = {p: p.read_text() for p in SRC.rglob("*.py")}
    assert [p.name for p, text in sources.items() if "loads only from the local Hugging Face cache" in text] == [
        "loading.py"
    ]
    assert not (SRC / "model_loading.py").exists()  # merged into loading.py


def test_every_wrapper_says_the_same_offline_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from medadapt.pretrain.config import ModelSection
    from medadapt.pretrain.model import load_mlm_model
    from medadapt.tasks.ner.recipe import load_model
    from medadapt.tasks.ner.tags import LabelMap

    monkeypatch.setattr(loading, "hub_offline", lambda: True)
    name = "no-such-org/no-such-model"
    said = []
    calls = [
        lambda: load_model(name, LabelMap(("Disease",))),
        lambda: load_mlm_model(ModelSection(name_or_path=name), wordpiece_tokenizer(["a b"], vocab_size=40)),
        lambda: loading.load_pretrained(AutoModelForTokenClassification.from_pretrained, name, num_labels=3),
    ]
    for call in calls:
        with pytest.raises(ModelLoadError) as caught:
            call()
        said.append(str(caught.value))
    assert said == [f"no such model folder: {name} ({loading.OFFLINE_ADVICE})"] * 3


# ------------------------------------------------------------------ one vocabulary, old keys load
class _FineTune(StrictModel):
    training: TrainingSection = TrainingSection()


@pytest.fixture()
def notes(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    monkeypatch.setattr(config_module, "_SAID", set())  # each key's note is said once per process
    caplog.set_level(logging.WARNING, logger="medadapt.config")
    return caplog


def test_old_fine_tuning_keys_load_as_the_new_ones_with_a_note(notes: pytest.LogCaptureFixture) -> None:
    old = build_config(_FineTune, {"training": {"lr": 1e-3, "head_lr": 3e-3, "batch_size": 4}}, source="a.yaml")
    new = build_config(_FineTune, {"training": {"learning_rate": 1e-3, "head_learning_rate": 3e-3, "batch_size": 4}})
    assert old == new and old.training.learning_rate == 1e-3 and old.training.head_learning_rate == 3e-3
    assert [r.getMessage() for r in notes.records] == [
        "a.yaml: `training.lr` is the old name of `training.learning_rate`; read as `training.learning_rate` "
        "(rename it)",
        "a.yaml: `training.head_lr` is the old name of `training.head_learning_rate`; read as "
        "`training.head_learning_rate` (rename it)",
    ]
    build_config(_FineTune, {"training": {"lr": 1e-3}}, source="b.yaml")
    assert len(notes.records) == 2  # said once: a study builds a config per job
    assert TrainingSection(lr=2e-3) == TrainingSection(learning_rate=2e-3)  # in code too (and recorded runs)


def test_old_pretraining_key_loads_as_the_new_one(tmp_path: Path, notes: pytest.LogCaptureFixture) -> None:
    corpora = [{"path": "c"}]
    old = build_config(PretrainConfig, {"corpora": corpora, "training": {"per_device_batch_size": 8}}, source="p")
    new = build_config(PretrainConfig, {"corpora": corpora, "training": {"batch_size": 8}}, source="p")
    assert old == new and old.training.batch_size == 8
    assert "`training.per_device_batch_size` is the old name of `training.batch_size`" in notes.text
    assert PretrainTraining(per_device_batch_size=4) == PretrainTraining(batch_size=4)


def test_set_with_an_old_key_goes_the_same_alias_path(tmp_path: Path, notes: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("training:\n  epochs: 2\n")
    cfg = load_config(_FineTune, path, ["training.lr=0.002"])
    assert cfg.training.learning_rate == 0.002 and cfg.training.epochs == 2
    assert f"{path}: `training.lr` is the old name" in notes.text


def test_an_old_and_a_new_name_for_one_setting_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"training: .*`lr` is the old name of `learning_rate` and both are given"):
        build_config(_FineTune, {"training": {"lr": 1e-3, "learning_rate": 2e-3}})
    with pytest.raises(ConfigError, match="`per_device_batch_size` is the old name of `batch_size`"):
        build_config(
            PretrainConfig, {"corpora": [{"path": "c"}], "training": {"per_device_batch_size": 4, "batch_size": 4}}
        )


def test_old_names_are_found_wherever_a_section_sits() -> None:
    class Study(StrictModel):
        runs: list[_FineTune] = Field(default_factory=list)
        named: dict[str, _FineTune] = Field(default_factory=dict)
        maybe: _FineTune | None = None

    data = {
        "runs": [{}, {"training": {"lr": 1}}],
        "named": {"a": {"training": {"head_lr": 1}}},
        "maybe": {"training": {"lr": 1}},
    }
    assert config_module.old_names(Study, data) == [
        ("runs.1.training.lr", "runs.1.training.learning_rate"),
        ("named.a.training.head_lr", "named.a.training.head_learning_rate"),
        ("maybe.training.lr", "maybe.training.learning_rate"),
    ]


def test_shipped_configs_use_the_new_names() -> None:
    root = SRC.parents[1]
    shipped = [*(root / "configs").rglob("*.yaml"), *(SRC / "configs").rglob("*.yaml"), *(SRC / "demo").glob("*.py")]
    old = ("lr:", "head_lr:", "per_device_batch_size", '"lr"', '"head_lr"')
    assert [(p.name, key) for p in shipped for key in old if key in p.read_text()] == []


def test_old_key_note_reaches_the_user_on_the_command_line(tmp_path: Path) -> None:
    """Outside pytest nothing configures logging: the note goes to stderr through Python's last-resort handler."""
    code = (
        "from medadapt.config import build_config, StrictModel\n"
        "from medadapt.training import TrainingSection\n"
        "class C(StrictModel):\n    training: TrainingSection = TrainingSection()\n"
        "build_config(C, {'training': {'lr': 0.01}}, source='cfg.yaml')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines() == [
        "cfg.yaml: `training.lr` is the old name of `training.learning_rate`; read as `training.learning_rate` "
        "(rename it)"
    ]
