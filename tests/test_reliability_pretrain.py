"""Reliability of `medadapt pretrain` and `medadapt corpus build` (issue 18, items 3, 5, 6, 15 and the probe).

Each test drives the CLI (`medadapt.cli.main`) the way a user would and asserts the message the user sees:
settings a resume must match, checks made before any output is written, empty corpora, and a fresh log when
no checkpoint survives.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml

from medadapt.cli import main
from medadapt.corpus import CorpusBuildConfig, build_corpus, train_tokenizer
from medadapt.pretrain.checkpoint import list_checkpoints

WORDS = "paciente diabetes mellitus hipertensión arterial metformina dolor torácico disnea fiebre tos insulina".split()
TINY_MODEL = {
    "model_type": "bert",
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "max_position_embeddings": 64,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}


def _write_jsonl(path: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60))) + "."
            handle.write(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reliability")
    notes = _write_jsonl(root / "notes.jsonl", 80)
    train_tokenizer([str(notes)], root / "tok", vocab_size=120, show_progress=False)
    build_corpus(
        CorpusBuildConfig(
            inputs=[str(notes)], tokenizer=str(root / "tok"), out=str(root / "corpus"), block_size=64, val_fraction=0.1
        ),
        show_progress=False,
    )
    return {"root": root, "notes": notes, "tokenizer": root / "tok", "corpus": root / "corpus"}


def _run_config(data: dict[str, Path], out: Path, **training) -> dict:
    settings = {
        "per_device_batch_size": 2,
        "max_steps": 4,
        "learning_rate": 1e-3,
        "schedule": "constant",
        "warmup_ratio": 0.0,
        "log_every": 1,
    }
    settings.update(training)
    return {
        "out_dir": str(out),
        "model": {"from_config": dict(TINY_MODEL), "tokenizer": str(data["tokenizer"])},
        "corpora": [{"path": str(data["corpus"]), "name": "notes"}],
        "training": settings,
        "checkpoint": {"every": 2, "keep_last": 2},
        "eval": {"every": 100, "max_blocks": 4},
    }


def _yaml(path: Path, content: dict) -> Path:
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return path


def _records(out: Path, name: str = "log.jsonl") -> list[dict]:
    return [json.loads(line) for line in (out / name).read_text().splitlines()]


def _pretrain(config: Path, *extra: str) -> int:
    return main(["pretrain", str(config), "--no-progress", *extra])


# ---------------------------------------------------------------- item 3: resume must match optimiser settings
def test_resume_with_changed_optimiser_settings_is_refused_with_the_diff(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    config = _yaml(tmp_path / "run.yaml", _run_config(data, out))
    assert _pretrain(config) == 0
    resolved_before = (out / "resolved_config.yaml").read_text()
    capsys.readouterr()
    code = _pretrain(config, "--resume", "--set", "training.learning_rate=0.0005", "--max-steps", "8")
    err = capsys.readouterr().err
    assert code == 2, err
    assert "training.learning_rate: 0.001 → 0.0005" in err
    assert "training.max_steps: 4 → 8" in err
    assert "--force" in err and "Traceback" not in err
    assert (out / "resolved_config.yaml").read_text() == resolved_before  # no false record


def test_forced_resume_uses_and_records_the_new_settings(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    config = _yaml(tmp_path / "run.yaml", _run_config(data, out))
    assert _pretrain(config) == 0
    capsys.readouterr()
    code = _pretrain(config, "--resume", "--force", "--set", "training.learning_rate=0.0005", "--max-steps", "6")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "--force" in err and "training.learning_rate: 0.001 → 0.0005" in err
    records = _records(out)
    lrs = {r["step"]: r["lr"] for r in records if "lr" in r}
    assert lrs[4] == pytest.approx(1e-3) and lrs[5] == pytest.approx(5e-4) and lrs[6] == pytest.approx(5e-4)
    forced = [r for r in records if r.get("event") == "forced_resume"]
    assert forced and forced[0]["step"] == 4
    assert forced[0]["changed"]["training.learning_rate"] == {"checkpoint": 1e-3, "now": 5e-4}
    resolved = yaml.safe_load((out / "resolved_config.yaml").read_text())
    assert resolved["config"]["training"]["learning_rate"] == 5e-4
    assert resolved["forced_resumes"][0]["step"] == 4
    assert resolved["forced_resumes"][0]["changed"]["training.max_steps"] == {"checkpoint": 4, "now": 6}
    # the next (unchanged) resume matches the settings recorded at the forced resume
    assert _pretrain(config, "--resume", "--set", "training.learning_rate=0.0005", "--max-steps", "6") == 0


# ---------------------------------------------------------------- item 5: checks before anything is written
def test_block_size_beyond_the_models_positions_fails_before_writing(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    content = _run_config(data, out)
    content["model"]["from_config"]["max_position_embeddings"] = 32
    code = _pretrain(_yaml(tmp_path / "run.yaml", content))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "block size 64" in err and "max_position_embeddings" in err and "32" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_pretrained_model_with_too_few_positions_fails_before_writing(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import AutoTokenizer

    from tests.tiny import tiny_bert

    tokenizer = AutoTokenizer.from_pretrained(data["tokenizer"])
    tiny_bert(len(tokenizer), max_position_embeddings=48).save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    out = tmp_path / "run"
    content = _run_config(data, out)
    content["model"] = {"name_or_path": str(tmp_path / "model")}
    code = _pretrain(_yaml(tmp_path / "run.yaml", content))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "block size 64" in err and "48" in err
    assert not out.exists()


def test_tokenizer_that_did_not_build_the_corpus_names_both_vocabularies(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train_tokenizer([str(data["notes"])], tmp_path / "other", vocab_size=90, show_progress=False)
    out = tmp_path / "run"
    content = _run_config(data, out)
    content["model"]["tokenizer"] = str(tmp_path / "other")
    code = _pretrain(_yaml(tmp_path / "run.yaml", content))
    err = capsys.readouterr().err
    assert code == 2, err
    manifest = json.loads((data["corpus"] / "manifest.json").read_text())
    assert f"{manifest['tokenizer']['vocab_size']} tokens" in err  # what the corpus was built with
    assert str(data["tokenizer"]) in err and str(tmp_path / "other") in err
    assert not out.exists()


# ---------------------------------------------------------------- item 6: empty corpora
def _bad_lines(path: Path) -> Path:
    path.write_text("{not json\n[1, 2\n", encoding="utf-8")
    return path


def test_corpus_build_with_no_blocks_fails_with_the_counts(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["corpus", "build", str(_bad_lines(tmp_path / "bad.jsonl")), "--tokenizer", str(data["tokenizer"])]
    code = main([*argv, "--out", str(tmp_path / "c"), "--skip-bad", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "no blocks were produced" in err
    assert "read 0" in err and "bad input skipped 2" in err and "kept 0" in err
    assert "--allow-empty" in err
    assert f"nothing written to {tmp_path / 'c'}" in err and not (tmp_path / "c").exists()


def test_corpus_build_where_every_document_is_filtered_names_the_filter(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "short.jsonl"
    short.write_text('{"id": "a", "text": "dolor"}\n{"id": "b", "text": "tos"}\n', encoding="utf-8")
    argv = ["corpus", "build", str(short), "--tokenizer", str(data["tokenizer"]), "--out", str(tmp_path / "c")]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no blocks were produced" in err and "read 2" in err and "too short 2" in err


def test_allowed_empty_corpus_is_refused_at_pretraining_start(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["corpus", "build", str(_bad_lines(tmp_path / "bad.jsonl")), "--tokenizer", str(data["tokenizer"])]
    assert main([*argv, "--out", str(tmp_path / "empty"), "--skip-bad", "--allow-empty", "--quiet"]) == 0
    assert "no blocks were produced" in capsys.readouterr().err  # still said, as a warning
    out = tmp_path / "run"
    content = _run_config(data, out)
    content["corpora"] = [{"path": str(tmp_path / "empty"), "name": "empty"}]
    code = _pretrain(_yaml(tmp_path / "run.yaml", content))
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"corpus {tmp_path / 'empty'} has no training blocks" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


# ---------------------------------------------------------------- item 15: no usable checkpoint → fresh log
def test_resume_without_a_usable_checkpoint_starts_a_fresh_log(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    config = _yaml(tmp_path / "run.yaml", _run_config(data, out))
    assert _pretrain(config) == 0
    old_log = (out / "log.jsonl").read_text()
    for checkpoint in list_checkpoints(out / "checkpoints"):
        (checkpoint / "model.safetensors").write_bytes(b"broken")
    capsys.readouterr()
    assert _pretrain(config, "--resume") == 0
    err = capsys.readouterr().err
    kept = sorted(out.glob("log.*.jsonl"))
    assert len(kept) == 1 and kept[0].read_text() == old_log
    assert "starting from step 0" in err and f"old log kept as {kept[0]}" in err
    records = _records(out)
    assert records[0]["event"] == "start" and [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4]
    # the unusable checkpoints are moved aside too, so they neither shadow nor prune the new ones
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["checkpoint-2", "checkpoint-4"]
    assert list(out.glob("checkpoints.unusable-*"))


def test_checkpoint_without_optimiser_fingerprint_still_resumes(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checkpoints written before the optimiser settings were fingerprinted lack those keys: not a change."""
    from medadapt.config import file_sha256

    out = tmp_path / "run"
    config = _yaml(tmp_path / "run.yaml", _run_config(data, out))
    assert _pretrain(config, "--max-steps", "2") == 0
    for checkpoint in list_checkpoints(out / "checkpoints"):
        state = json.loads((checkpoint / "state.json").read_text())
        state["fingerprint"] = {k: v for k, v in state["fingerprint"].items() if not k.startswith("training.")}
        (checkpoint / "state.json").write_text(json.dumps(state))
        sums = json.loads((checkpoint / "checksums.json").read_text())
        sums["state.json"] = file_sha256(checkpoint / "state.json")
        (checkpoint / "checksums.json").write_text(json.dumps(sums))
    capsys.readouterr()
    assert _pretrain(config, "--resume", "--max-steps", "2") == 0
    assert "resumed from" in capsys.readouterr().err


# ---------------------------------------------------------------- probe: rerun, kill, --force
def test_failed_rebuild_keeps_the_previous_corpus(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c"
    argv = ["corpus", "build", "--tokenizer", str(data["tokenizer"]), "--out", str(out), "--quiet"]
    assert main([*argv, str(data["notes"])]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(data["notes"].read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    assert main([*argv, str(bad)]) == 2
    assert "bad.jsonl, line 81" in capsys.readouterr().err
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before and not (out / ".tmp-build").exists()


def test_block_size_above_the_tokenizers_limit_is_warned_at_build(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["corpus", "build", str(data["notes"]), "--tokenizer", str(data["tokenizer"]), "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "c"), "--block-size", "1024"]) == 0
    assert "block size 1024 is above the tokenizer's model_max_length 512" in capsys.readouterr().err


def test_forced_resume_onto_a_rebuilt_corpus_restarts_the_data_order(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    content = _run_config(data, out)
    config = _yaml(tmp_path / "run.yaml", content)
    assert _pretrain(config) == 0
    more = _write_jsonl(tmp_path / "more.jsonl", 120, seed=3)
    argv = ["corpus", "build", str(more), "--tokenizer", str(data["tokenizer"]), "--block-size", "64", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "bigger")]) == 0
    content["corpora"] = [{"path": str(tmp_path / "bigger"), "name": "notes"}]
    config = _yaml(tmp_path / "run.yaml", content)
    capsys.readouterr()
    assert _pretrain(config, "--resume", "--max-steps", "6") == 2
    assert "corpora: [" in capsys.readouterr().err
    code = _pretrain(config, "--resume", "--max-steps", "6", "--force")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "the data order restarted" in err
    forced = [r for r in _records(out) if r.get("event") == "forced_resume"]
    assert "restarted" in forced[0]["data_position"]


def test_forced_resume_onto_another_model_shape_is_one_line(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    content = _run_config(data, out)
    assert _pretrain(_yaml(tmp_path / "run.yaml", content)) == 0
    content["model"]["from_config"]["hidden_size"] = 32
    capsys.readouterr()
    code = _pretrain(_yaml(tmp_path / "run.yaml", content), "--resume", "--force")
    err = capsys.readouterr().err
    assert code == 2, err
    assert "cannot resume from" in err and "do not fit this run's model" in err and "Traceback" not in err


def test_interrupted_model_save_leaves_no_model_folder(
    data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import PreTrainedTokenizerBase

    from medadapt.pretrain.config import PretrainConfig
    from medadapt.pretrain.loop import pretrain

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(PreTrainedTokenizerBase, "save_pretrained", disk_full)
    out = tmp_path / "run"
    with pytest.raises(OSError, match="No space"):
        pretrain(PretrainConfig.model_validate(_run_config(data, out, max_steps=2)), show_progress=False)
    assert not (out / "model").exists()  # a model/config.json would tell tools the model is there


def test_corpus_without_validation_blocks_is_evaluated_on_training_blocks_and_said(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["corpus", "build", str(data["notes"]), "--tokenizer", str(data["tokenizer"]), "--block-size", "64"]
    assert main([*argv, "--val-fraction", "0", "--out", str(tmp_path / "c"), "--quiet"]) == 0
    out = tmp_path / "run"
    content = _run_config(data, out, max_steps=2)
    content["corpora"] = [{"path": str(tmp_path / "c"), "name": "notes"}]
    capsys.readouterr()
    assert _pretrain(_yaml(tmp_path / "run.yaml", content)) == 0
    assert f"corpus {tmp_path / 'c'} has no validation blocks" in capsys.readouterr().err
    evals = [r["eval"] for r in _records(out) if "eval" in r]
    assert evals and all(e["notes"]["split"] == "train" for e in evals)  # not `"eval": {}` without a word


def test_interrupted_corpus_build_is_named_as_such_at_pretraining(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    half = tmp_path / "half"
    (half / ".tmp-build").mkdir(parents=True)  # what a killed `corpus build` leaves
    content = _run_config(data, tmp_path / "run")
    content["corpora"] = [{"path": str(half), "name": "half"}]
    assert _pretrain(_yaml(tmp_path / "run.yaml", content)) == 2
    assert "the corpus build there did not finish" in capsys.readouterr().err
