"""medadapt.demo end to end: determinism, layout against the manifest, the CLI, and the environment guard.

`generated(seed)` generates the small data set once per seed and test process (test_demo_content.py has
the same helper and finds the same folder).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from medadapt.demo import generate_demo_data
from medadapt.demo.lexicon import LANGS
from medadapt.errors import InputError
from tests.demo_data import generated

SPLITS = ("train", "dev", "test")
DOMAINS = ("clinical", "biomedical", "general")


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo() -> Path:
    return generated(0)


@pytest.fixture(scope="module")
def manifest(demo: Path) -> dict:
    return json.loads((demo / "manifest.json").read_text(encoding="utf-8"))


def test_same_seed_gives_byte_identical_files(demo: Path) -> None:
    before = _digests(demo)
    generate_demo_data(demo, seed=0, size="small", show_progress=False)  # into its own previous output
    assert _digests(demo) == before


def test_different_seed_gives_different_data(demo: Path) -> None:
    other = _digests(generated(1))
    mine = _digests(demo)
    assert other.keys() - {"README.md", "manifest.json"} <= mine.keys() | other.keys()
    shared = [rel for rel in mine if rel.endswith(".jsonl")]
    assert shared and all(mine[rel] != other[rel] for rel in shared)


def test_layout_matches_manifest(demo: Path, manifest: dict) -> None:
    assert manifest["synthetic"] is True and manifest["generator"] == "medadapt.demo"
    assert manifest["seed"] == 0 and manifest["size"] == "small"
    expected = {f"corpora/{d}/{lang}.jsonl" for d in DOMAINS for lang in LANGS}
    expected |= {f"ner/{lang}/{s}" for lang in LANGS for s in SPLITS}
    expected |= {f"screening/{lang}/{s}.jsonl" for lang in LANGS for s in SPLITS}
    assert set(manifest["files"]) == expected
    for rel, info in manifest["files"].items():
        path = demo / rel
        if info["format"] == "brat":
            txt = sorted(path.glob("*.txt"))
            assert len(txt) == info["documents"] == len(list(path.glob("*.ann")))
            assert sum(len(p.with_suffix(".ann").read_text("utf-8").splitlines()) for p in txt) == info["entities"]
        else:
            lines = path.read_text("utf-8").splitlines()
            assert len(lines) == info["documents"]
            assert all(json.loads(line)["meta"]["synthetic"] is True for line in lines)
    counts = manifest["counts"]
    assert counts["corpus_documents"] == 3 * 3 * 1500
    assert counts["ner_documents"] == 3 * 250 and counts["screening_patients"] == 3 * 1200


def test_readme_says_synthetic_in_its_first_line(demo: Path) -> None:
    first = (demo / "README.md").read_text("utf-8").splitlines()[0]
    assert "SYNTHETIC" in first and "medadapt" in first and "seed 0" in first and "small" in first


def test_refuses_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not empty"):
        generate_demo_data(tmp_path, show_progress=False)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_unknown_size_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="size"):
        generate_demo_data(tmp_path, size="huge", show_progress=False)  # type: ignore[arg-type]


def test_cli_demo_data_writes_and_summarises(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from medadapt.cli import app

    result = CliRunner().invoke(app, ["demo-data", str(tmp_path / "cli"), "--seed", "7", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "screening/nl/train.jsonl" in result.output
    written = json.loads((tmp_path / "cli" / "manifest.json").read_text("utf-8"))
    assert written["seed"] == 7 and written["size"] == "small"


def test_cli_main_reports_errors_without_traceback(tmp_path: Path) -> None:
    from medadapt.cli import main

    (tmp_path / "foreign.txt").write_text("x", encoding="utf-8")
    assert main(["demo-data", str(tmp_path), "--quiet"]) == 2


def test_cli_help_mentions_options() -> None:
    from typer.testing import CliRunner

    from medadapt.cli import app

    result = CliRunner().invoke(app, ["demo-data", "--help"])
    assert result.exit_code == 0
    assert "--seed" in result.output and "--size" in result.output and "SYNTHETIC" in result.output


def test_transformers_still_imports() -> None:
    """Guard: the lexicon packages (deduce, cie) must not break the model stack's dependencies."""
    import transformers

    assert transformers.AutoTokenizer is not None
