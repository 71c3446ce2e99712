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


# ---------------------------------------------------------------- item 5: checks before anything is written


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


# ---------------------------------------------------------------- item 15: no usable checkpoint → fresh log


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
