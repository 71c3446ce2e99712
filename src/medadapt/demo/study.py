"""The demo's study: the paper's design on the synthetic data, sized for 2 CPU cores.

The four demo models (general base standing in for mBERT; clinical, biomedical and mixed further pre-training)
are fine-tuned on the three tasks of the study — Spanish and Romanian NER (one task, two languages, so zero-shot
es↔ro transfer falls out) and Dutch patient screening — with three seeds each, then tested on every language of
the task. A fourth task, screening with head-only truncation (the first 512 tokens of every note), is the baseline
the sliding-window screening must beat: the demo's decisive sentences mostly lie beyond it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medadapt.config import build_config
from medadapt.study.config import StudyConfig

DEMO_SEEDS = (1, 2, 3)
VARIANT_LABELS = {
    "base": "general base (mBERT stand-in)",
    "clinical": "clinical",
    "biomedical": "biomedical",
    "mixed": "mixed",
}

NER_SETTINGS: dict[str, Any] = {
    "data": {"format": "brat"},
    "span_policy": {"policy": "longest", "discontinuous": "cover"},
    "encoding": {"max_length": 128, "stride": 32},
    "training": {"epochs": 4, "batch_size": 16, "lr": 1e-3, "warmup_ratio": 0.1},
}
SCREENING_SETTINGS: dict[str, Any] = {
    "chunking": {"strategy": "windows", "max_length": 128, "stride": 16},
    "pooling": {"chunk_to_note": "attention", "note_to_patient": "attention"},
    "imbalance": {"loss": "ce"},
    "training": {"epochs": 4, "batch_size": 4, "lr": 5e-4, "warmup_ratio": 0.1},
    "evaluation": {"bootstrap_resamples": 200},
}
HEAD_SETTINGS: dict[str, Any] = SCREENING_SETTINGS | {"chunking": {"strategy": "head", "max_length": 512}}


def demo_study(root: Path, model_dirs: dict[str, Path], seeds: tuple[int, ...] = DEMO_SEEDS) -> StudyConfig:
    data = root / "data"

    def split_paths(kind: str, lang: str, suffix: str = "") -> dict[str, str]:
        return {split: str(data / kind / lang / f"{split}{suffix}") for split in ("train", "dev", "test")}

    models = {
        name: {"path": str(path), "label": VARIANT_LABELS.get(name, name), "languages": ["nl", "ro", "es"]}
        for name, path in model_dirs.items()
    }
    models["base"]["languages"] = []  # pre-trained on general text only
    study = {
        "name": "medadapt demo study",
        "base": "base",
        "synthetic": True,
        "models": models,
        "tasks": {
            "ner": {
                "type": "ner",
                "settings": NER_SETTINGS,
                "languages": {
                    lang: split_paths("ner", lang) | {"settings": {"data": {"lang": lang}}} for lang in ("es", "ro")
                },
            },
            "screening": {
                "type": "screening",
                "settings": SCREENING_SETTINGS,
                "languages": {"nl": split_paths("screening", "nl", ".jsonl")},
            },
            "screening-head512": {
                "type": "screening",
                "settings": HEAD_SETTINGS,
                "languages": {"nl": split_paths("screening", "nl", ".jsonl")},
            },
        },
        "seeds": list(seeds),
        "transfer": {"zero_shot": True},
        "statistics": {"bootstrap_resamples": 500, "permutations": 500},
        "out_dir": str(root / "study"),
    }
    return build_config(StudyConfig, study, source="medadapt demo study")
