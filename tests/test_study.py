"""The study runner on a tiny study: 2 models (one further pre-trained by the study) × NER in 2 languages +
screening in 1 × 2 seeds, zero-shot, joint and few-shot transfer. Cache/resume, statistics plumbing, report."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import yaml

from medadapt.cli import main
from medadapt.corpus import CorpusBuildConfig, build_corpus
from medadapt.documents import Document, Span
from medadapt.io import write_documents
from medadapt.metrics.stats import auroc_from_rows, f1_from_count_rows
from medadapt.study import execute as study_execute
from medadapt.study import load_study, load_study_folder, report_study, run_study
from medadapt.study.execute import StudyInterrupted
from medadapt.study.plan import plan
from tests.screening_data import write_model, write_task

WORDS = {
    "es": "el paciente presenta con y sin tras dia refiere control".split(),
    "ro": "pacientul prezintă cu fără după zi acuză control și".split(),
}
DRUGS = ["aspirina", "metformina", "insulina"]


def _ner_docs(lang: str, n: int, seed: int) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        words, spans, pos = [], [], 0
        for _ in range(10):
            word = rng.choice(DRUGS) if rng.random() < 0.3 else rng.choice(WORDS[lang])
            if word in DRUGS:
                spans.append(Span(pos, pos + len(word), "CHEM"))
            words.append(word)
            pos += len(word) + 1
        docs.append(Document(f"{lang}{seed}-{i}", " ".join(words), lang, spans))
    return docs


@pytest.fixture(scope="module")
def study_file(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("study")
    base = write_model(root / "base")
    ner = {}
    for lang, seed in (("es", 1), ("ro", 2)):
        ner[lang] = {}
        for split, n in (("train", 24), ("dev", 8), ("test", 10)):
            write_documents(_ner_docs(lang, n, seed * 10 + len(split)), root / "ner" / lang / split, "brat")
            ner[lang][split] = f"ner/{lang}/{split}"
    screening = write_task(root / "screening", n_train=24)
    texts = root / "corpus.jsonl"
    texts.write_text(
        "".join(
            json.dumps({"id": f"c{i}", "text": " ".join(_ner_docs("es", 1, 100 + i)[0].text for _ in range(6))}) + "\n"
            for i in range(60)
        )
    )
    build_corpus(
        CorpusBuildConfig(
            inputs=[str(texts)], tokenizer=base, out=str(root / "corpus"), block_size=32, val_fraction=0.1
        ),
        show_progress=False,
    )
    pretrain = {
        "model": {"name_or_path": "set-by-study"},
        "corpora": [{"path": str(root / "corpus")}],
        "training": {"per_device_batch_size": 8, "max_steps": 4, "learning_rate": 1e-3},
        "checkpoint": {"every": 2, "keep_last": 1},
        "eval": {"every": 4, "max_blocks": 4},
    }
    (root / "pretrain.yaml").write_text(yaml.safe_dump(pretrain))
    quick = {"epochs": 2, "batch_size": 8, "lr": 3e-3}
    study = {
        "name": "tiny",
        "base": "base",
        "synthetic": True,
        "models": {"base": {"path": "base"}, "clinical": {"pretrain": "pretrain.yaml", "languages": ["es"]}},
        "tasks": {
            "ner": {
                "type": "ner",
                "settings": {"encoding": {"max_length": 32, "stride": 8}, "training": quick},
                "languages": ner,
            },
            "screening": {
                "type": "screening",
                "settings": {
                    "chunking": {"max_length": 32, "stride": 4},
                    "training": quick,
                    "evaluation": {"bootstrap_resamples": 50},
                },
                "languages": {"nl": screening},
            },
        },
        "seeds": [1, 2],
        "transfer": {"zero_shot": True, "joint": True, "few_shot": [5]},
        "statistics": {"bootstrap_resamples": 50, "permutations": 50},
        "out_dir": "out",
    }
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


@pytest.fixture(scope="module")
def finished(study_file):
    study = load_study(study_file)
    counts = run_study(study)
    return study, counts


def test_plan_covers_the_grid(study_file):
    jobs = plan(load_study(study_file))
    kinds = [j.kind for j in jobs]
    # NER: settings es, ro, joint, es+5ro, ro+5es; screening: nl — × 2 models × 2 seeds
    assert kinds.count("pretrain") == 1
    assert kinds.count("finetune") == (5 + 1) * 2 * 2
    assert kinds.count("evaluate") == 5 * 2 * 2 * 2 + 1 * 2 * 2  # NER runs tested on es and ro
    assert len({j.key for j in jobs}) == len(jobs)


def test_dry_run_lists_jobs_without_running(study_file, tmp_path):
    main(["study", "run", str(study_file), "--dry-run", "--out", str(tmp_path / "dry")])
    assert not (tmp_path / "dry" / "runs").exists()


def test_rerun_skips_everything_and_a_broken_run_is_redone(finished):
    study, counts = finished
    assert counts["run"] == counts["jobs"]
    assert run_study(study)["run"] == 0
    run = Path(study.out_dir) / "runs" / "ner" / "base" / "es" / "seed-1"
    (run / "done.json").unlink()  # a run that died before finishing
    again = run_study(study)
    assert again["run"] == 1 + 2  # the run and its evaluations on es and ro (removed with the broken folder)


def test_killed_study_resumes_with_only_missing_runs(finished, monkeypatch):
    study, _ = finished
    victims = [Path(study.out_dir) / "runs" / "screening" / m / "nl" / "seed-2" for m in ("base", "clinical")]
    for folder in victims:
        (folder / "done.json").unlink()
    real = study_execute.RUNNERS["finetune"]
    calls = []

    def dies_on_second(study_, job):
        calls.append(job.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(study_, job)

    monkeypatch.setitem(study_execute.RUNNERS, "finetune", dies_on_second)
    with pytest.raises(StudyInterrupted, match="rerun the study"):
        run_study(study)
    monkeypatch.setitem(study_execute.RUNNERS, "finetune", real)
    counts = run_study(study)
    assert counts["run"] == 2  # the killed run and its evaluation; the first victim finished before the kill


def test_units_reproduce_the_reported_metric(finished):
    study, _ = finished
    folder = Path(study.out_dir) / "runs" / "ner" / "clinical" / "es+5ro" / "seed-1" / "eval" / "ro"
    units = json.loads((folder / "units.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    assert f1_from_count_rows(np.asarray(units["rows"])) == metrics["test"]["strict"]["micro"]["f1"]
    joint = Path(study.out_dir) / "data" / "ner" / "joint" / "train.jsonl"
    assert len(joint.read_text().splitlines()) == 48  # both languages' train sets
    few = Path(study.out_dir) / "data" / "ner" / "es+5ro" / "train.jsonl"
    assert sum(line.startswith('{"id": "ro:') for line in few.read_text().splitlines()) == 5


def test_report_builds_with_tables_plots_and_links(finished):
    study, _ = finished
    paths = report_study(load_study_folder(study.out_dir))
    text = paths["markdown"].read_text()
    assert "SYNTHETIC DATA" in text and "| **base** |" in text and "| clinical |" in text
    assert "(runs/ner/base/es)" in text  # numbers link to their run folders
    analysis = json.loads((Path(study.out_dir) / "analysis.json").read_text())
    assert {c["model"] for c in analysis["comparisons"]} == {"clinical"}
    assert all(0 <= c["p_holm"] <= 1 for c in analysis["comparisons"])
    assert analysis["transfer"]["ner"]["models"]["base"]["matrix"]["es"]["ro"] is not None
    for name in ("bars_ner.png", "transfer_ner.png", "few_shot_ner.png", "seed_spread.png", "curves_screening.png"):
        assert (Path(study.out_dir) / "plots" / name).stat().st_size > 1000
    html = paths["html"].read_text()
    assert 'src="data:image/png;base64,' in html and 'src="plots/' not in html


def test_shipped_study_files_validate_and_plan():
    root = Path(__file__).parents[1] / "configs"
    paper = load_study(root / "paper" / "study.yaml")
    assert len(paper.models) == 5 and len(paper.seeds) >= 5
    assert set(paper.tasks) == {"screening-nl", "screening-nl-head512", "ner"}
    assert [(c.task, c.baseline) for c in paper.contrasts] == [("screening-nl", "screening-nl-head512")]
    assert paper.model_order()[0] == "mbert"
    transfer = load_study(root / "transfer" / "umls-es-ro.yaml")
    assert set(transfer.tasks["ner"].languages) == {"es", "ro"}
    settings = {j.spec["setting"] for j in plan(transfer) if j.kind == "finetune"}
    assert settings == {"es", "ro", "joint", "es+10ro", "es+50ro", "ro+10es", "ro+50es"}
    three = load_study(root / "transfer" / "umls-es-ro-nl.yaml")
    jobs = plan(three)
    assert {j.spec["setting"] for j in jobs if j.kind == "finetune"} == {"es", "ro", "nl"}
    assert sum(j.kind == "evaluate" for j in jobs) == 3 * 3 * len(three.seeds)  # the full 3×3 matrix per seed


def test_task_model_filter_and_its_validation(study_file):
    from medadapt.errors import ConfigError

    jobs = plan(load_study(study_file, ["tasks.screening.models=[base]"]))
    assert {j.spec["model"] for j in jobs if j.kind == "finetune" and j.spec["task"] == "screening"} == {"base"}
    with pytest.raises(ConfigError, match="unknown models"):
        load_study(study_file, ["tasks.screening.models=[nope]"])
    with pytest.raises(ConfigError, match="must include the base"):
        load_study(study_file, ["tasks.screening.models=[clinical]"])


def test_demo_study_is_the_paper_grid_on_the_demo_data(tmp_path):
    from medadapt.demo.study import demo_study

    models = {name: tmp_path / name for name in ("base", "clinical", "biomedical", "mixed")}
    study = demo_study(tmp_path, models)
    assert study.synthetic and study.base == "base" and len(study.seeds) >= 3
    jobs = plan(study)
    ner = [j for j in jobs if j.spec.get("task") == "ner"]
    assert sum(j.kind == "finetune" for j in ner) == 4 * 2 * 3  # models × languages × seeds
    assert sum(j.kind == "evaluate" for j in ner) == 4 * 2 * 3 * 2  # each run tested on es and ro
    windows = [j for j in jobs if j.spec.get("task") == "screening" and j.kind == "finetune"]
    head = [j for j in jobs if j.spec.get("task") == "screening-head128" and j.kind == "finetune"]
    assert {j.spec["model"] for j in windows} == {"base"} and len(windows) == 3
    assert {j.spec["model"] for j in head} == {"base"} and len(head) == 3
    assert [(c.task, c.baseline) for c in study.contrasts] == [("screening", "screening-head128")]


def test_screening_training_data_for_joint_and_few_shot_settings(tmp_path):
    from medadapt.config import build_config
    from medadapt.study.config import StudyConfig
    from medadapt.study.execute import finetune_config
    from medadapt.study.plan import transfer_settings
    from medadapt.tasks.screening.data import group_patients, read_notes

    langs = {}
    for lang in ("nl", "es"):
        langs[lang] = write_task(tmp_path / lang, n_train=10)
    study = build_config(
        StudyConfig,
        {
            "base": "m",
            "models": {"m": {"path": str(tmp_path / "model")}},
            "out_dir": str(tmp_path / "study"),
            "tasks": {"s": {"type": "screening", "languages": langs}},
            "transfer": {"joint": True, "few_shot": [3]},
        },
    )
    jobs = {j.spec["setting"]: j for j in plan(study) if j.kind == "finetune" and j.spec["seed"] == 1}
    assert {s.name for s in transfer_settings(study, study.tasks["s"])} == set(jobs)
    few = finetune_config(study, jobs["nl+3es"])
    patients, _ = group_patients(read_notes(few.data.train, few.data), few)
    by_lang = {lang: sum(p.id.startswith(f"{lang}:") for p in patients) for lang in ("nl", "es")}
    assert by_lang == {"nl": 10, "es": 3} and all(len(p.notes) == 2 for p in patients)
    assert [n.meta["date"] for n in patients[0].notes] == sorted(
        (n.meta["date"] for n in patients[0].notes), reverse=True
    )
    joint = finetune_config(study, jobs["joint"])
    assert len(group_patients(read_notes(joint.data.dev, joint.data), joint)[0]) == 32  # both dev sets


def test_task_contrast_is_paired_on_the_same_units_and_holm_corrected(tmp_path):
    """Two screening tasks on the same test patients (windows vs head-only): the contrast is the paired
    difference, in the same Holm family as the variant comparisons; different test units are refused."""
    from medadapt.config import build_config
    from medadapt.errors import ConfigError, InputError
    from medadapt.study.analysis import Cell, analyse
    from medadapt.study.config import StudyConfig

    lang = {"nl": {"train": "t.jsonl", "test": "t.jsonl"}}
    study = build_config(
        StudyConfig,
        {
            "base": "m",
            "models": {"m": {"path": str(tmp_path)}},
            "tasks": {name: {"type": "screening", "languages": lang} for name in ("windows", "head")},
            "seeds": [1, 2],
            "contrasts": [{"task": "windows", "baseline": "head"}],
            "statistics": {"bootstrap_resamples": 200, "permutations": 200},
        },
    )
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 80).astype(float)
    ids = [f"p{i:03d}" for i in range(80)]

    def cell(task: str, noise: float) -> Cell:
        rows = [np.stack([labels, labels + rng.normal(0, noise, 80)], axis=1) for _ in range(2)]
        return Cell(
            task,
            "nl",
            "nl",
            "m",
            "auroc",
            auroc_from_rows,
            seeds=[1, 2],
            ids=ids,
            rows=rows,
            run_dirs=[str(tmp_path)] * 2,
        )

    good, poor = cell("windows", 0.3), cell("head", 3.0)
    result = analyse(study, [good, poor])
    (contrast,) = result["contrasts"]
    assert contrast["task"] == "windows" and contrast["baseline_task"] == "head" and contrast["model"] == "m"
    expected = np.mean([auroc_from_rows(g) - auroc_from_rows(p) for g, p in zip(good.rows, poor.rows, strict=True)])
    assert contrast["difference"] == pytest.approx(expected) and contrast["difference"] > 0.2
    assert contrast["significant"] and contrast["p_holm"] >= contrast["p_ar"]
    from medadapt.study.report import contrast_table

    header, _, row = contrast_table(study, result)
    assert header.startswith("| task | against |") and row.startswith("| windows | head | nl | nl | m | +")
    assert row.count("|") == header.count("|") and " * |" in row  # significant: starred
    poor.ids = [f"q{i:03d}" for i in range(80)]
    with pytest.raises(InputError, match="test units differ"):
        analyse(study, [good, poor])
    with pytest.raises(ConfigError, match="unknown tasks"):
        build_config(StudyConfig, {**study.model_dump(), "contrasts": [{"task": "windows", "baseline": "nope"}]})
