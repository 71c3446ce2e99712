"""The pre-training loop end to end on tiny corpora: outputs, exact resume after SIGKILL, 2 processes = 1."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForMaskedLM, AutoTokenizer

from medadapt.config import load_config
from medadapt.corpus import CorpusBuildConfig, build_corpus, train_tokenizer
from medadapt.errors import ConfigError
from medadapt.pretrain.config import PretrainConfig
from medadapt.pretrain.loop import ResumeRefused, pretrain

WORDS = (
    "paciente diabetes mellitus hipertensión arterial metformina enalapril dolor torácico disnea fiebre tos "
    "control analítica glucemia tratamiento insulina riñón corazón pulmón ingreso alta evolución favorable"
).split()
TINY_MODEL = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}


def _write_jsonl(path: Path, prefix: str, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 70))) + "."
            handle.write(json.dumps({"id": f"{prefix}{i}", "text": text, "lang": "es"}) + "\n")


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pretrain")
    _write_jsonl(root / "clinical.jsonl", "c", 300, 1)
    _write_jsonl(root / "general.jsonl", "g", 120, 2)
    train_tokenizer([str(root / "clinical.jsonl"), str(root / "general.jsonl")], root / "tok", vocab_size=200)
    out = {"tokenizer": root / "tok", "root": root}
    for name in ("clinical", "general"):
        cfg = CorpusBuildConfig(
            inputs=[str(root / f"{name}.jsonl")],
            tokenizer=str(root / "tok"),
            out=str(root / f"corpus-{name}"),
            block_size=64,
            val_fraction=0.05,
        )
        build_corpus(cfg, show_progress=False)
        out[name] = root / f"corpus-{name}"
    return out


def _config(corpora: dict[str, Path], out: Path, **training) -> dict:
    settings = {"per_device_batch_size": 4, "gradient_accumulation": 2, "max_steps": 24, "learning_rate": 1e-3}
    settings.update(training)
    return {
        "out_dir": str(out),
        "model": {"from_config": TINY_MODEL, "tokenizer": str(corpora["tokenizer"])},
        "corpora": [
            {"path": str(corpora["clinical"]), "weight": 0.7, "name": "clinical"},
            {"path": str(corpora["general"]), "weight": 0.3, "name": "general"},
        ],
        "training": settings,
        "checkpoint": {"every": 4, "keep_last": 3},
        "eval": {"every": 12, "max_blocks": 8},
    }


def _losses(out: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in records if "loss" in r}


def _write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "medadapt.cli", *args]


def _env() -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")


def test_run_writes_a_model_plain_transformers_loads(corpora, tmp_path: Path) -> None:
    cfg = PretrainConfig.model_validate(_config(corpora, tmp_path / "run", log_every=4))
    final = pretrain(cfg, show_progress=False)
    model = AutoModelForMaskedLM.from_pretrained(final)
    tokenizer = AutoTokenizer.from_pretrained(final)
    assert (final / "model.safetensors").is_file()
    encoded = tokenizer(f"paciente con {tokenizer.mask_token} mellitus", return_tensors="pt")
    with torch.no_grad():
        logits = model(**encoded).logits
    masked_at = int((encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0])
    predicted = tokenizer.decode(logits[0, masked_at, : len(tokenizer)].argmax())
    assert predicted.strip()  # a real vocabulary item, not padding
    assert model.get_input_embeddings().weight.shape[0] % 64 == 0
    records = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    evals = [r["eval"] for r in records if "eval" in r]
    assert evals and set(evals[-1]) == {"clinical", "general"}
    assert all(v["perplexity"] > 1 for v in evals[-1].values())
    mix = [r["mix"] for r in records if "mix" in r][-1]
    assert mix["clinical"] > mix["general"]
    assert (tmp_path / "run" / "loss_curve.png").stat().st_size > 1000
    assert (tmp_path / "run" / "resolved_config.yaml").is_file()
    losses = _losses(tmp_path / "run")
    assert losses[max(losses)] < losses[min(losses)]  # it learns


def test_resume_after_sigkill_equals_uninterrupted_run(corpora, tmp_path: Path) -> None:
    reference = PretrainConfig.model_validate(_config(corpora, tmp_path / "ref", max_steps=40, log_every=1))
    pretrain(reference, show_progress=False)
    expected = _losses(tmp_path / "ref")

    config = _write_yaml(tmp_path / "run.yaml", _config(corpora, tmp_path / "killed", max_steps=40, log_every=1))
    proc = subprocess.Popen(_cli(["pretrain", str(config), "--no-progress"]), env=_env(), stderr=subprocess.PIPE)
    target = tmp_path / "killed" / "checkpoints" / "checkpoint-8"
    deadline = time.time() + 120
    while not target.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    killed_at = max(_losses(tmp_path / "killed"))
    assert killed_at < 40

    resumed_cfg = load_config(PretrainConfig, config)
    pretrain(resumed_cfg, resume=True, show_progress=False)
    got = _losses(tmp_path / "killed")
    assert sorted(got) == sorted(expected)
    for step in range(killed_at, 41):
        assert got[step] == pytest.approx(expected[step], abs=1e-5), f"step {step}"


def test_a_checkpoint_from_a_config_with_the_old_key_names_resumes_exactly_under_the_new_ones(
    corpora, tmp_path: Path
) -> None:
    """Configs said `per_device_batch_size` before the training vocabulary was unified (now `batch_size`). A run
    checkpointed under the old name resumes, without --force, under the new one and continues it to the step:
    the fingerprint stores derived, name-independent settings (global batch, `training.learning_rate`, ...) and the
    optimizer state keeps its group order (body before head, decayed before not)."""
    out = tmp_path / "run"
    old = _config(corpora, out, max_steps=16, log_every=1)
    assert "per_device_batch_size" in old["training"]
    pretrain(PretrainConfig.model_validate(old), show_progress=False)
    expected = _losses(out)
    saved = json.loads((out / "checkpoints" / "checkpoint-8" / "state.json").read_text())["fingerprint"]
    for later in ("checkpoint-12", "checkpoint-16"):  # as if killed after step 8
        shutil.rmtree(out / "checkpoints" / later)
    training = {("batch_size" if k == "per_device_batch_size" else k): v for k, v in old["training"].items()}
    new = PretrainConfig.model_validate(old | {"training": training})
    pretrain(new, resume=True, show_progress=False)
    got = _losses(out)
    assert sorted(got) == sorted(expected)
    for step in range(9, 17):
        assert got[step] == pytest.approx(expected[step], abs=1e-6), f"step {step}"
    assert saved["global_batch_size"] == 4 * 2 and saved["training.learning_rate"] == 1e-3
    assert not any(
        r.get("event") == "forced_resume" for r in map(json.loads, (out / "log.jsonl").read_text().splitlines())
    )


def test_two_processes_match_one_at_the_same_global_batch(corpora, tmp_path: Path) -> None:
    one = PretrainConfig.model_validate(_config(corpora, tmp_path / "one", per_device_batch_size=8, max_steps=12))
    pretrain(one, show_progress=False)
    config = _write_yaml(
        tmp_path / "two.yaml", _config(corpora, tmp_path / "two", per_device_batch_size=4, max_steps=12)
    )
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29641"]
    done = subprocess.run(
        [*torchrun, "-m", "medadapt.cli", "pretrain", str(config), "--no-progress"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    start = json.loads((tmp_path / "two" / "log.jsonl").read_text().splitlines()[0])
    assert start["world_size"] == 2
    a, b = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert sorted(a) == sorted(b)
    for step in a:
        assert b[step] == pytest.approx(a[step], rel=1e-5), f"step {step}"


def test_corrupt_checkpoint_is_detected_and_the_previous_one_used(
    corpora, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _config(corpora, tmp_path / "run", max_steps=12)
    pretrain(PretrainConfig.model_validate(data), show_progress=False)
    newest = tmp_path / "run" / "checkpoints" / "checkpoint-12"
    weights = newest / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])  # truncated copy
    with pytest.raises(ResumeRefused):  # a changed seed is refused before any checkpoint is loaded
        pretrain(PretrainConfig.model_validate(data | {"training": data["training"] | {"seed": 5}}), resume=True)
    pretrain(PretrainConfig.model_validate(data), resume=True, show_progress=False)
    err = capsys.readouterr()
    assert "checkpoint-12 is unusable" in err.out + err.err
    assert "resumed from" in err.out + err.err and "checkpoint-8" in err.out + err.err


def test_resume_with_other_batch_geometry_is_refused_unless_forced(corpora, tmp_path: Path) -> None:
    data = _config(corpora, tmp_path / "run", max_steps=8)
    pretrain(PretrainConfig.model_validate(data), show_progress=False)
    changed = data | {"training": data["training"] | {"per_device_batch_size": 2, "max_steps": 10}}
    with pytest.raises(ResumeRefused, match="global_batch_size"):
        pretrain(PretrainConfig.model_validate(changed), resume=True, show_progress=False)
    pretrain(PretrainConfig.model_validate(changed), resume=True, force=True, show_progress=False)
    log = (tmp_path / "run" / "log.jsonl").read_text()
    assert "forced_resume" in log


def test_existing_run_without_resume_is_refused(corpora, tmp_path: Path) -> None:
    data = _config(corpora, tmp_path / "run", max_steps=4)
    pretrain(PretrainConfig.model_validate(data), show_progress=False)
    with pytest.raises(ConfigError, match="--resume"):
        pretrain(PretrainConfig.model_validate(data), show_progress=False)


def test_tokenizer_that_did_not_build_the_corpus_is_refused(corpora, tmp_path: Path) -> None:
    other = tmp_path / "other-tok"
    train_tokenizer([str(corpora["root"] / "general.jsonl")], other, vocab_size=120)
    data = _config(corpora, tmp_path / "run")
    data["model"]["tokenizer"] = str(other)
    with pytest.raises(ConfigError, match="different vocabulary"):
        pretrain(PretrainConfig.model_validate(data), show_progress=False)


@pytest.mark.parametrize(
    "family",
    [
        {"model_type": "xlm-roberta", "max_position_embeddings": 80, "type_vocab_size": 1},
        {
            "model_type": "distilbert",
            "dim": 32,
            "n_layers": 2,
            "n_heads": 2,
            "hidden_dim": 64,
            "max_position_embeddings": 64,
        },
    ],
    ids=lambda f: f["model_type"],
)
def test_other_encoder_families_train_and_save(corpora, tmp_path: Path, family: dict) -> None:
    data = _config(corpora, tmp_path / "run", max_steps=4)
    if family["model_type"] == "xlm-roberta":
        data["model"]["from_config"] = TINY_MODEL | family
    else:
        data["model"]["from_config"] = family
    final = pretrain(PretrainConfig.model_validate(data), show_progress=False)
    model = AutoModelForMaskedLM.from_pretrained(final)
    assert model.config.model_type == family["model_type"]


def test_ctrl_c_writes_a_checkpoint_and_exits_cleanly(corpora, tmp_path: Path) -> None:
    config = _write_yaml(tmp_path / "run.yaml", _config(corpora, tmp_path / "run", max_steps=100000, log_every=1))
    proc = subprocess.Popen(_cli(["pretrain", str(config), "--no-progress"]), env=_env(), stderr=subprocess.PIPE)
    log = tmp_path / "run" / "log.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    last = max(_losses(tmp_path / "run"))
    assert (tmp_path / "run" / "checkpoints" / f"checkpoint-{last}").is_dir()
    assert b"resume with --resume" in err
