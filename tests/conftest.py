"""Shared test set-up: offline Hugging Face, paths to ../shared data, small helpers.

Tests run offline (no hub); tiny tokenizers/models are built inside tests. The real datasets in ../shared/data are
read in place and must be there (CI clones the project with shared/ beside it), so a missing folder fails loudly.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEDADAPT_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public datasets beside the project; their absence is a set-up error, not a skip."""
    assert SHARED_DATA.is_dir(), f"expected the shared datasets at {SHARED_DATA} (set MEDADAPT_SHARED_DATA)"
    return SHARED_DATA
