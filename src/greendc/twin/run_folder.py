"""The temporary folder EnergyPlus writes a run into, and the removal of those a dead process left behind.

A run that is killed (SIGKILL, or SIGTERM when the user stops a command with Ctrl-C) cannot remove its own
folder. Each folder therefore holds a lock file that its process keeps locked (``flock``) for the run; the
kernel releases the lock when the process dies, however it dies. The next run removes every folder whose
lock it can take: no process owns it any more.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

RUN_FOLDER_PREFIX = "greendc-run-"
LOCK_NAME = ".greendc-run.lock"
#: A folder without a lock file is either being created right now or older than this greendc: it counts as
#: stale only once it is this old, so that a folder between its creation and its lock is never taken.
UNLOCKED_GRACE_S = 600.0


def _is_abandoned(folder: Path) -> bool:
    lock = folder / LOCK_NAME
    try:
        handle = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        try:
            return time.time() - folder.stat().st_mtime > UNLOCKED_GRACE_S
        except OSError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live process holds it
    finally:
        os.close(handle)
    return True


def remove_abandoned_run_folders(parent: Path | None = None) -> list[Path]:
    """Remove the run folders in ``parent`` (the temporary directory) that no live process owns."""
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    with suppress(OSError):
        for folder in parent.glob(f"{RUN_FOLDER_PREFIX}*"):
            if folder.is_dir() and not folder.is_symlink() and _is_abandoned(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


@contextmanager
def temporary_run_folder(keep: bool = False) -> Iterator[Path]:
    """A new run folder in the temporary directory, locked by this process and removed afterwards.

    With ``keep`` the folder stays (for debugging a model) and its lock stays held until this process exits;
    a later run then removes it as abandoned.
    """
    remove_abandoned_run_folders()
    folder = Path(tempfile.mkdtemp(prefix=RUN_FOLDER_PREFIX))
    handle = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield folder
    finally:
        if not keep:
            os.close(handle)
            shutil.rmtree(folder, ignore_errors=True)
