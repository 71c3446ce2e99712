"""Issue 18, items 4, 12 and 13, as a new user meets them on the command line.

4: `finetune ner|screening` into a folder that holds a run refuses (one line naming the folder and what it holds)
   unless `--overwrite` (start over) or `--resume` (keep the finished seeds, rerun the rest) is given.
12: every command line in the README and in the config comments names commands and options the CLI has, and the
   `--set` keys of those lines are valid config keys.
13: a model path that does not exist says "no such model folder: PATH", not hub advice.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from medadapt.cli import main
from medadapt.errors import ModelLoadError
from tests.screening_data import write_model, write_task
from tests.test_tasks_ner_finetune import _doc, _write_data
from tests.tiny import tiny_bert, wordpiece_tokenizer

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def ner_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny model, a small JSONL NER task and its config (1 epoch): a CLI run takes about a second."""
    root = tmp_path_factory.mktemp("reliability-ner")
    rng = random.Random(9)
    tokenizer = wordpiece_tokenizer([_doc(str(i), rng).text for i in range(80)], vocab_size=120)
    torch.manual_seed(0)
    tiny_bert(len(tokenizer)).save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    data = _write_data(root / "data", {"train": 12, "dev": 4, "test": 4}, fmt="jsonl")
    config = root / "ner.yaml"
    config.write_text(
        f"model: {root / 'model'}\n"
        f"data: {{train: {data['train']}, dev: {data['dev']}, test: {data['test']}}}\n"
        "training: {epochs: 1, batch_size: 8}\n"
        f"out_dir: {root / 'default-out'}\n"
    )
    return config, root


@pytest.fixture(scope="module")
def ner_run(ner_setup: tuple[Path, Path]) -> Path:
    """A finished two-seed NER run (seed-1/, seed-2/, summary.json); tests work on copies of it."""
    config, root = ner_setup
    out = root / "finished"
    assert main(_ner(config, out, "--seeds", "1,2")) == 0
    return out


def _ner(config: Path, out: Path, *extra: str) -> list[str]:
    return ["finetune", "ner", str(config), "--out", str(out), "--no-progress", *extra]


def _copy(run: Path, target: Path) -> Path:
    shutil.copytree(run, target)  # copy2: contents and modification times, so "untouched" can be checked
    return target


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` with its bytes and mtime: equal snapshots mean nothing was rewritten."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


def _one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


# ------------------------------------------------------------------------------- item 4: a run is kept
def test_finetune_ner_refuses_a_folder_that_holds_a_run(
    ner_run: Path, ner_setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _copy(ner_run, tmp_path / "run")
    before = _snapshot(out)
    capsys.readouterr()
    assert main(_ner(ner_setup[0], out, "--seeds", "1,2")) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {out} already holds a NER run (")
    assert "seed-1/" in line and "summary.json" in line
    assert "--overwrite" in line and "--resume" in line
    assert _snapshot(out) == before


def test_finetune_screening_refuses_a_folder_that_holds_a_run(tmp_path: Path, capsys) -> None:
    paths = write_task(tmp_path / "data")
    config = tmp_path / "screening.yaml"
    config.write_text(f"model: {write_model(tmp_path / 'model')}\ndata: {json.dumps(paths)}\n")
    out = tmp_path / "run"
    (out / "best-model").mkdir(parents=True)
    (out / "metrics.json").write_text('{"seed": 42}')
    (out / "log.jsonl").write_text("")
    before = _snapshot(out)
    assert main(["finetune", "screening", str(config), "--out", str(out), "--no-progress"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == (
        f"error: {out} already holds a screening run (best-model/, log.jsonl, metrics.json); pass --overwrite "
        "to replace it, --resume to keep its finished seeds and run the rest, or choose another --out"
    )
    assert _snapshot(out) == before


def test_overwrite_replaces_the_old_run_entirely(
    ner_run: Path, ner_setup: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    out = _copy(ner_run, tmp_path / "run")
    assert main(_ner(ner_setup[0], out, "--seeds", "5", "--overwrite")) == 0
    assert f"replacing the run in {out}" in capsys.readouterr().err
    # the two-seed layout is gone: no stale summary.json or seed folder beside the new one-seed run
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["best-model", "data_report.json", "log.jsonl", "metrics.json", "predictions", "resolved_config.yaml"]
    )
    assert json.loads((out / "metrics.json").read_text())["seed"] == 5


def test_resume_keeps_finished_seeds_and_reruns_the_rest(
    ner_run: Path, ner_setup: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    out = _copy(ner_run, tmp_path / "run")
    (out / "seed-2" / "metrics.json").unlink()  # seed 2 was killed before it finished
    kept = _snapshot(out / "seed-1")
    capsys.readouterr()
    assert main(_ner(ner_setup[0], out, "--seeds", "1,2", "--resume")) == 0
    printed = capsys.readouterr().err
    assert "seed 1: finished run kept" in printed
    assert "seed 2" in printed and (out / "seed-2" / "metrics.json").is_file()
    assert _snapshot(out / "seed-1") == kept
    assert json.loads((out / "summary.json").read_text())["seeds"] == [1, 2]


def test_resume_refuses_finished_seeds_run_with_other_settings(
    ner_run: Path, ner_setup: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    out = _copy(ner_run, tmp_path / "run")
    before = _snapshot(out)
    capsys.readouterr()
    assert main(_ner(ner_setup[0], out, "--seeds", "1,2", "--resume", "--set", "training.lr=0.01")) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"{out / 'seed-1'} was run with other settings (training.lr: 5e-05 -> 0.01)" in line
    assert "--overwrite" in line
    assert _snapshot(out) == before


def test_overwrite_and_resume_together_is_refused(ner_setup: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    assert main(_ner(ner_setup[0], tmp_path / "o", "--overwrite", "--resume")) == 2
    assert "--overwrite or --resume, not both" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------- item 13: a missing model folder
def test_missing_relative_model_folder_is_named_without_hub_advice(
    ner_setup: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    args = _ner(ner_setup[0], tmp_path / "o", "--set", "model=./models/mbert-clinical")
    assert main(args) == 2
    assert _one_error_line(capsys.readouterr().err) == "error: no such model folder: ./models/mbert-clinical"
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_missing_absolute_model_folder_in_screening(tmp_path: Path, capsys) -> None:
    config = tmp_path / "screening.yaml"
    config.write_text(f"model: {tmp_path / 'nowhere'}\ndata: {json.dumps(write_task(tmp_path / 'data'))}\n")
    assert main(["finetune", "screening", str(config), "--out", str(tmp_path / "o")]) == 2
    assert _one_error_line(capsys.readouterr().err) == f"error: no such model folder: {tmp_path / 'nowhere'}"


def test_offline_hub_id_not_cached_is_no_such_folder_with_the_offline_cause(
    ner_setup: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    assert main(_ner(ner_setup[0], tmp_path / "o", "--set", "model=no-such-org/no-such-model")) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("error: no such model folder: no-such-org/no-such-model (")
    assert "HF_HUB_OFFLINE" in line and "Traceback" not in line


def test_hub_advice_stays_for_a_hub_id_when_online(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    from medadapt import loading

    def unreachable(name: str, **_: Any) -> None:
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files.")

    monkeypatch.setattr(loading, "hub_offline", lambda: False)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", unreachable)
    with pytest.raises(ModelLoadError, match="could not be fetched from the Hugging Face hub") as caught:
        loading.load_tokenizer("some-org/some-model")
    assert "no such model folder" not in str(caught.value)


def test_a_folder_without_a_model_says_so_in_one_line(ner_setup: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    data = ner_setup[1] / "data"
    assert main(_ner(ner_setup[0], tmp_path / "o", "--set", f"model={data}")) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {data} is not a model folder: no config.json, tokenizer.json")


def test_a_file_given_as_model_folder(ner_setup: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    assert main(_ner(ner_setup[0], tmp_path / "o", "--set", f"model={ner_setup[0]}")) == 2
    assert _one_error_line(capsys.readouterr().err) == f"error: {ner_setup[0]} is a file, not a model folder"


def test_load_pretrained_names_a_missing_folder(tmp_path: Path) -> None:
    from transformers import AutoModelForMaskedLM

    from medadapt.model_loading import load_pretrained

    with pytest.raises(ModelLoadError, match=r"^no such model folder: .*gone$"):
        load_pretrained(AutoModelForMaskedLM.from_pretrained, str(tmp_path / "gone"))


def test_evaluate_screening_names_a_missing_model_folder(tmp_path: Path, capsys) -> None:
    data = write_task(tmp_path / "data")["test"]
    argv = ["evaluate", "screening", "--model", str(tmp_path / "m"), "--data", data, "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert _one_error_line(capsys.readouterr().err) == f"error: no such model folder: {tmp_path / 'm'}"
