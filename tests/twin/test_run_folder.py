"""EnergyPlus run folders of dead processes are removed at the next start; live ones never."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from greendc.twin.run_folder import (
    LOCK_NAME,
    RUN_FOLDER_PREFIX,
    remove_abandoned_run_folders,
    temporary_run_folder,
)


def test_a_folder_whose_process_was_killed_is_removed(tmp_path: Path) -> None:
    # A child makes and locks a run folder, then is killed with SIGKILL before it can clean up.
    code = ("import sys, time, tempfile; tempfile.tempdir = sys.argv[1]\n"
            "from greendc.twin.run_folder import temporary_run_folder\n"
            "with temporary_run_folder() as f:\n    print(f, flush=True); time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    folder = Path(child.stdout.readline().strip())
    assert folder.is_dir() and (folder / LOCK_NAME).exists()
    assert remove_abandoned_run_folders(tmp_path) == []  # its process is alive: kept
    child.kill()
    child.wait(timeout=10)
    assert folder.exists()
    assert remove_abandoned_run_folders(tmp_path) == [folder]
    assert not folder.exists()


def test_live_and_unrelated_folders_are_kept(tmp_path: Path) -> None:
    unrelated = tmp_path / "not-greendc"
    unrelated.mkdir()
    fresh_without_lock = tmp_path / f"{RUN_FOLDER_PREFIX}fresh"
    fresh_without_lock.mkdir()
    old_without_lock = tmp_path / f"{RUN_FOLDER_PREFIX}old"
    old_without_lock.mkdir()
    an_hour_ago = time.time() - 3600
    os.utime(old_without_lock, (an_hour_ago, an_hour_ago))
    assert remove_abandoned_run_folders(tmp_path) == [old_without_lock]
    assert unrelated.is_dir() and fresh_without_lock.is_dir()


def test_a_run_folder_is_removed_when_the_run_ends() -> None:
    with temporary_run_folder() as folder:
        (folder / "eplusout.err").write_text("x")
    assert not folder.exists()
