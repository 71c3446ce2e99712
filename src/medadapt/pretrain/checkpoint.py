"""Atomic, verifiable training checkpoints that resume exactly and never unpickle arbitrary objects.

Layout of one checkpoint folder `checkpoint-<step>/`:
    model.safetensors        trainable weights (safetensors, shared/tied tensors de-duplicated)
    optimizer.pt / scheduler.pt / scaler.pt   torch state dicts, loaded with `weights_only=True`
    rng-rank<r>.pt           torch (+CUDA) RNG state of each process, `weights_only=True`
    state.json               step, data position (mixer state), python RNG state, fingerprint, metrics
    checksums.json           sha256 of every file above, written last

A checkpoint is written into `.tmp-checkpoint-<step>` and renamed when complete, so a crash leaves either the old
set or the new one, never a half-written folder under the real name. On load, a folder whose checksums do not
match (truncated, corrupted, partial copy) is reported and the previous checkpoint is used instead.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model

from medadapt.config import file_sha256

PREFIX = "checkpoint-"
TMP_PREFIX = ".tmp-checkpoint-"


@dataclass
class LoadedCheckpoint:
    path: Path
    state: dict[str, Any]


def list_checkpoints(root: Path) -> list[Path]:
    """Complete-looking checkpoint folders, oldest first (by step number)."""
    found = []
    for child in root.glob(f"{PREFIX}*"):
        suffix = child.name[len(PREFIX) :]
        if child.is_dir() and suffix.isdigit():
            found.append((int(suffix), child))
    return [path for _, path in sorted(found)]


def save_checkpoint(
    root: Path,
    step: int,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any | None,
    state: dict[str, Any],
    keep_last: int,
    is_main_process: bool = True,
    process_index: int = 0,
    wait_for_everyone: Callable[[], None] = lambda: None,
) -> Path:
    """Write checkpoint `step` atomically and prune to the last `keep_last`; every process must call it."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f"{TMP_PREFIX}{step}"
    final = root / f"{PREFIX}{step}"
    if is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    wait_for_everyone()
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    torch.save(rng, tmp / f"rng-rank{process_index}.pt")
    if is_main_process:
        save_model(model, str(tmp / "model.safetensors"))
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        if scaler is not None:
            torch.save(scaler.state_dict(), tmp / "scaler.pt")
        full_state = dict(state, step=step, python_random=_python_random_state())
        (tmp / "state.json").write_text(json.dumps(full_state, indent=1))
    wait_for_everyone()
    if is_main_process:
        checksums = {p.name: file_sha256(p) for p in sorted(tmp.iterdir())}
        (tmp / "checksums.json").write_text(json.dumps(checksums, indent=1))
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        for old in list_checkpoints(root)[:-keep_last] if keep_last > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    wait_for_everyone()
    return final


def _python_random_state() -> list[Any]:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def verify_checkpoint(path: Path) -> str | None:
    """None when the folder is complete and intact, else the reason it is not."""
    sums_file = path / "checksums.json"
    if not sums_file.is_file():
        return "checksums.json is missing (the checkpoint was not completed)"
    try:
        expected = json.loads(sums_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"checksums.json is unreadable ({exc})"
    for name in ("model.safetensors", "optimizer.pt", "scheduler.pt", "state.json"):
        if name not in expected:
            return f"{name} is not listed in checksums.json"
    for name, digest in expected.items():
        file = path / name
        if not file.is_file():
            return f"{name} is missing"
        if file_sha256(file) != digest:
            return f"{name} does not match its checksum (corrupted or truncated)"
    return None


def latest_valid_checkpoint(root: Path, warn: Callable[[str], None]) -> Path | None:
    """Newest intact checkpoint; every skipped broken one is reported through `warn`."""
    for path in reversed(list_checkpoints(root)):
        problem = verify_checkpoint(path)
        if problem is None:
            return path
        warn(f"checkpoint {path} is unusable: {problem}; falling back to the previous one")
    return None


def load_checkpoint(
    path: Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any | None,
    process_index: int = 0,
) -> LoadedCheckpoint:
    """Restore everything saved by `save_checkpoint` in place and return the JSON state."""
    load_model(model, str(path / "model.safetensors"))
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True, map_location="cpu"))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    if scaler is not None and (path / "scaler.pt").is_file():
        scaler.load_state_dict(torch.load(path / "scaler.pt", weights_only=True))
    rng_file = path / f"rng-rank{process_index}.pt"
    if not rng_file.is_file():  # resumed on more processes than saved: fall back to rank 0's stream
        rng_file = path / "rng-rank0.pt"
    rng = torch.load(rng_file, weights_only=True)
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state(rng["cuda"])
    state = json.loads((path / "state.json").read_text())
    version, internal, gauss = state.pop("python_random")
    random.setstate((version, tuple(internal), gauss))
    return LoadedCheckpoint(path=path, state=state)
