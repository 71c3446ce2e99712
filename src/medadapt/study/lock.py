"""One `study run` per study folder at a time: a second one would move aside or remove the very folders the
first is writing. The lock file (`.study-run.lock`) names the process holding it; one left by a killed run on the
same machine is taken over, with a message.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from medadapt.errors import MedadaptError
from medadapt.progress import console


class StudyBusy(MedadaptError):
    """Another `study run` is using the study folder."""


LOCK_NAME = ".study-run.lock"


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the lock's `study run` still runs (another machine's cannot be checked: assumed running)."""
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(holder.get("pid", -1)), 0)
    except PermissionError:
        return True
    except (OSError, ValueError, OverflowError):
        return False
    return True


def _take_lock(lock: Path) -> None:
    """Create the lock file (exclusively), taking over one whose run is gone (e.g. killed with SIGKILL)."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                holder = json.loads(lock.read_text())
            except (OSError, ValueError):
                holder = {}
            holder = holder if isinstance(holder, dict) else {}
            if _alive(holder) and holder:
                raise StudyBusy(
                    f"{lock.parent} is in use by another `medadapt study run` (pid {holder.get('pid')} on "
                    f"{holder.get('host')}, since {holder.get('started')}); wait for it to finish, or delete "
                    f"{lock} if it is not running"
                ) from None
            pid = holder.get("pid", "?")
            console.print(f"{lock}: its `study run` (pid {pid}) is not running any more; taking over")
            lock.unlink(missing_ok=True)
            continue
        record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(record))
        return
    raise StudyBusy(f"{lock}: could not take the study folder's lock (another run is starting?); try again")


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """One `study run` per study folder at a time: a second one would move aside or remove the very folders the
    first is writing. The lock names the holder; one left by a killed run on this machine is taken over."""
    lock = root / LOCK_NAME
    _take_lock(lock)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
