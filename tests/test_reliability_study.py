"""The study runner never loses finished work and never trusts a false record (issue 18, items 1, 2, 7, 14).

One tiny finished study (one model, NER in one language, one seed) is copied per test, so every test can break
its copy — a settings typo, a deleted output, a missing path — and check what the user is told and what is left
on disk.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from medadapt.cli import main
from medadapt.documents import Document
from medadapt.io import write_documents
from tests.screening_data import write_model
from tests.test_study import _ner_docs

RUN = Path("runs") / "ner" / "base" / "es" / "seed-1"
JOB = "finetune ner/base/es/seed-1"


def _docs(n: int, seed: int) -> list[Document]:
    return _ner_docs("es", n, seed)


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory) -> Path:
    """A study file: the base model fine-tuned on NER in Spanish with one seed, one epoch."""
    root = tmp_path_factory.mktemp("reliable")
    write_model(root / "base")
    langs = {"es": {}}
    for split, n in (("train", 12), ("dev", 4), ("test", 4)):
        write_documents(_docs(n, len(split)), root / "ner" / split, "brat")
        langs["es"][split] = f"ner/{split}"
    study = {
        "name": "reliable",
        "base": "base",
        "models": {"base": {"path": "base"}},
        "tasks": {
            "ner": {
                "type": "ner",
                "settings": {
                    "encoding": {"max_length": 32, "stride": 8},
                    "training": {"epochs": 1, "batch_size": 8, "lr": 3e-3},
                },
                "languages": langs,
            }
        },
        "seeds": [1],
        "transfer": {"zero_shot": False},
        "statistics": {"bootstrap_resamples": 20, "permutations": 20},
        "out_dir": "out",
    }
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


@pytest.fixture(scope="module")
def finished_out(tiny_study) -> Path:
    assert main(["study", "run", str(tiny_study)]) == 0
    return tiny_study.parent / "out"


@pytest.fixture
def out(finished_out, tmp_path) -> Path:
    """A private copy of the finished study folder (job keys do not depend on where the folder is)."""
    copy = tmp_path / "out"
    shutil.copytree(finished_out, copy)
    return copy


def _study(tiny_study: Path, out: Path, *args: str) -> list[str]:
    return ["study", "run", str(tiny_study), "--out", str(out), *args]


def _snapshot(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in sorted(folder.rglob("*"))}


# item 1: a settings typo fails before anything on disk is touched; a changed key never deletes finished results


@pytest.mark.parametrize("dry_run", [True, False])
def test_settings_typo_fails_up_front_naming_job_and_key(tiny_study, out, capsys, dry_run):
    before = _snapshot(out)
    args = _study(tiny_study, out, "--set", "tasks.ner.settings.training.nonexistent=1")
    assert main(args + (["--dry-run"] if dry_run else [])) == 2
    err = capsys.readouterr().err
    assert JOB in err and "training.nonexistent" in err and "Extra inputs are not permitted" in err
    assert "Traceback" not in err
    assert _snapshot(out) == before  # nothing written, moved or deleted
    assert (out / RUN / "best-model" / "config.json").is_file() and (out / RUN / "metrics.json").is_file()


def test_changed_settings_move_the_finished_run_aside(tiny_study, out, capsys):
    old_metrics = (out / RUN / "metrics.json").read_text()
    assert main(_study(tiny_study, out, "--no-report", "--set", "tasks.ner.settings.training.lr=0.002")) == 0
    err = capsys.readouterr().err
    (aside,) = (out / RUN.parent).glob("seed-1.previous-*")
    assert f"{JOB}: its settings or inputs changed" in err and str(aside) in err
    assert (aside / "metrics.json").read_text() == old_metrics  # the earlier results are kept, whole
    assert (aside / "eval" / "es" / "units.json").is_file()
    assert (out / RUN / "done.json").is_file()  # and the new run finished in the usual place


# item 2: a run is done when its outputs are complete, not when done.json says so


@pytest.mark.parametrize(
    "folder, missing, job",
    [
        (RUN, "metrics.json", JOB),
        (RUN, "best-model/model.safetensors", JOB),
        (RUN / "eval" / "es", "units.json", "evaluate ner/base/es/seed-1 on es"),
    ],
)
def test_a_run_with_missing_outputs_is_redone_and_says_so(tiny_study, out, capsys, folder, missing, job):
    (out / folder / missing).unlink()
    assert main(_study(tiny_study, out)) == 0
    err = capsys.readouterr().err
    assert f"{job}: {missing} is missing" in err
    assert (out / folder / missing).is_file() and "report:" in err


def test_report_on_missing_units_is_one_line_naming_the_file(out, capsys):
    units = out / RUN / "eval" / "es" / "units.json"
    units.unlink()
    assert main(["study", "report", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(units) in err and "missing" in err and "study run" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


# item 7: a non-numeric setting is a config error, in --dry-run too (the cost estimate ran before validation)


def test_non_numeric_setting_in_dry_run_is_a_config_error(tiny_study, tmp_path, capsys):
    args = _study(tiny_study, tmp_path / "dry", "--dry-run", "--set", "tasks.ner.settings.training.epochs=three")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert JOB in err and "training.epochs" in err and "Traceback" not in err
    assert not (tmp_path / "dry").exists()


# item 14: --dry-run checks that every model and data path exists, and lists every missing one


def test_dry_run_lists_every_missing_model_and_data_path(tiny_study, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    study = yaml.safe_load(tiny_study.read_text())
    root = tiny_study.parent
    study["models"] |= {
        "gone": {"path": str(tmp_path / "no-such-model")},
        "hub": {"path": "someone/not-downloaded-model"},
    }
    study["tasks"]["ner"]["languages"]["es"] |= {"dev": str(root / "ner" / "no-dev"), "test": "ner/no-test"}
    path = root / "missing-paths.yaml"
    path.write_text(yaml.safe_dump(study))
    assert main(["study", "run", str(path), "--out", str(tmp_path / "dry"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"model 'gone': no such model folder: {tmp_path / 'no-such-model'}" in err
    assert "model 'hub': 'someone/not-downloaded-model' is not a local folder" in err and "HF_HUB_OFFLINE=1" in err
    assert f"task 'ner' (es) dev: no such file or folder: {root / 'ner' / 'no-dev'}" in err
    assert f"task 'ner' (es) test: no such file or folder: {root / 'ner' / 'no-test'}" in err
    assert "Traceback" not in err and not (tmp_path / "dry").exists()


def test_dry_run_lists_missing_config_files_and_corpora_with_the_data(tiny_study, tmp_path, capsys):
    study = yaml.safe_load(tiny_study.read_text())
    root = tiny_study.parent
    (root / "pretrain-nocorpus.yaml").write_text(yaml.safe_dump({"corpora": [{"path": str(tmp_path / "corpus")}]}))
    study["models"] |= {
        "variant": {"pretrain": "pretrain-nocorpus.yaml"},
        "other": {"pretrain": "no-such-pretrain.yaml"},
    }
    study["tasks"]["ner"]["config"] = "no-such-template.yaml"
    study["tasks"]["ner"]["languages"]["es"]["train"] = "ner/no-train"
    path = root / "missing-configs.yaml"
    path.write_text(yaml.safe_dump(study))
    assert main(["study", "run", str(path), "--out", str(tmp_path / "dry"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"model 'variant' ({root / 'pretrain-nocorpus.yaml'}): no such corpus folder: {tmp_path / 'corpus'}" in err
    assert f"model 'other': no such pretrain config: {root / 'no-such-pretrain.yaml'}" in err
    assert f"task 'ner': no such task config (template): {root / 'no-such-template.yaml'}" in err
    assert f"task 'ner' (es) train: no such file or folder: {root / 'ner' / 'no-train'}" in err


def test_a_hub_id_in_the_local_cache_is_fine_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from medadapt.study.check import model_problem

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--someone--cached-model"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text("{}")
    assert model_problem("m", "someone/cached-model") is None
    assert "HF_HUB_OFFLINE=1" in model_problem("m", "someone/other-model")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    assert model_problem("m", "someone/other-model") is None  # online: fetched at run time


def test_dry_run_writes_nothing_and_says_what_a_change_would_redo(tiny_study, out, capsys):
    before = _snapshot(out)
    assert main(_study(tiny_study, out, "--dry-run")) == 0
    assert f"done  {JOB}" in capsys.readouterr().err
    assert main(_study(tiny_study, out, "--dry-run", "--set", "tasks.ner.settings.training.lr=0.002")) == 0
    err = capsys.readouterr().err
    assert (
        f"todo  {JOB}" in err
        and "(its settings or inputs changed since it ran; its earlier results will be moved aside)" in err
    )
    assert "(it depends on finetune ner/base/es/seed-1, which is redone)" in err
    assert _snapshot(out) == before  # not even study.json: `study report` reads it


# beyond the items: what else a rerun or a second run could get wrong


def test_a_second_run_on_the_same_folder_is_refused_and_a_dead_ones_lock_taken_over(tiny_study, out, capsys):
    import os
    import socket
    import subprocess
    import sys

    lock = out / ".study-run.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "earlier"}))
    assert main(_study(tiny_study, out, "--no-report")) == 2
    err = capsys.readouterr().err
    assert f"{out} is in use by another `medadapt study run` (pid {os.getpid()}" in err and str(lock) in err
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "started": "earlier"}))
    assert main(_study(tiny_study, out, "--no-report")) == 0
    assert "is not running any more; taking over" in capsys.readouterr().err
    assert not lock.exists()


def test_a_job_that_ends_without_its_outputs_is_not_marked_done(tiny_study, out, capsys, monkeypatch):
    from medadapt.study import execute

    (out / RUN / "eval" / "es" / "done.json").unlink()
    monkeypatch.setitem(execute.RUNNERS, "evaluate", lambda study, job: execute._fresh(job) or {})
    assert main(_study(tiny_study, out, "--no-report")) == 2
    err = capsys.readouterr().err
    assert "evaluate ner/base/es/seed-1 on es ended without writing metrics.json, units.json" in err
    assert not (out / RUN / "eval" / "es" / "done.json").exists()


def test_a_metric_the_statistics_cannot_recompute_is_refused_up_front(tiny_study, tmp_path, capsys):
    assert main(_study(tiny_study, tmp_path / "dry", "--dry-run", "--set", "tasks.ner.metric=auroc")) == 2
    assert "metric 'auroc': a ner task in a study compares f1" in capsys.readouterr().err


def test_a_multiclass_screening_task_is_refused_before_it_trains(tiny_study, tmp_path):
    from medadapt.config import build_config
    from medadapt.study import run_study
    from medadapt.study.check import StudyCheckError
    from medadapt.study.config import StudyConfig
    from tests.screening_data import write_task

    study = build_config(
        StudyConfig,
        {
            "base": "m",
            "models": {"m": {"path": str(tiny_study.parent / "base")}},
            "out_dir": str(tmp_path / "study"),
            "tasks": {"s": {"type": "screening", "languages": {"nl": write_task(tmp_path / "nl", n_train=4)}}},
            "seeds": [1],
        },
    )
    study.tasks["s"].settings = {"labels": {"kind": "multiclass"}}
    with pytest.raises(
        StudyCheckError, match=re.escape("finetune s/m/nl/seed-1: labels.kind: a study compares binary")
    ):
        run_study(study, dry_run=True)
    assert not (tmp_path / "study").exists()


def test_report_of_a_study_without_finished_evaluations_is_an_error(out, capsys):
    shutil.rmtree(out / "runs")
    assert main(["study", "report", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no evaluation to report (none of 1 is finished with the study's current inputs and settings)" in err


def test_inputs_given_as_globs_are_hashed_by_content(tmp_path):
    from medadapt.study.plan import inputs_hash

    (tmp_path / "a.txt").write_text("one")
    pattern = str(tmp_path / "*.txt")
    before = inputs_hash([pattern])
    (tmp_path / "a.txt").write_text("two")
    assert inputs_hash([pattern]) != before
