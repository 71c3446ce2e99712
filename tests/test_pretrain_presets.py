"""Every shipped pre-training preset is a valid config (a typo in a preset would only show on a GPU box)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medadapt.config import load_config
from medadapt.demo.pipeline import VARIANTS, preset_path
from medadapt.pretrain.config import PretrainConfig

ROOT = Path(__file__).resolve().parents[1]
PAPER = sorted(p for p in (ROOT / "configs" / "paper").glob("*.yaml") if p.name != "study.yaml")  # study: test_study


@pytest.mark.parametrize("path", PAPER, ids=lambda p: p.stem)
def test_paper_presets_are_valid(path: Path) -> None:
    cfg = load_config(PretrainConfig, path)
    assert cfg.model.name_or_path == "bert-base-multilingual-cased"
    assert cfg.training.batch_size * cfg.training.gradient_accumulation == 256


def test_paper_presets_cover_domain_by_language_design() -> None:
    assert {p.stem for p in PAPER} == {
        f"{domain}-{langs}" for domain in ("clinical", "biomedical") for langs in ("monolingual", "multilingual")
    }
    for path in PAPER:
        n_corpora = len(load_config(PretrainConfig, path).corpora)
        assert n_corpora == (1 if "monolingual" in path.stem else 3)


@pytest.mark.parametrize("name", ["demo-base", *[f"demo-{v}" for v in VARIANTS]])
def test_packaged_demo_presets_are_valid(name: str) -> None:
    cfg = load_config(PretrainConfig, preset_path(name))
    assert cfg.training.max_steps > 0
