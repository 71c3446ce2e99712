"""The small synthetic demo data set, generated once per test process and shared by the demo tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from medadapt.demo import generate_demo_data


def generated(seed: int = 0) -> Path:
    """The small data set for `seed`, generated once per test process and shared by the test_demo_* modules
    through a per-process temp folder (removed at exit)."""
    root = Path(tempfile.gettempdir()) / f"medadapt-demo-tests-{os.getpid()}"
    out = root / f"seed{seed}"
    if not (out / "manifest.json").is_file():
        shutil.rmtree(out, ignore_errors=True)
        atexit.register(shutil.rmtree, root, True)
        generate_demo_data(out, seed=seed, size="small", show_progress=False)
    return out
