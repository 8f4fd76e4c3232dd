"""Write results so that a failed run never leaves outputs that look complete, and no user file is lost.

Everything is written into a temporary sibling directory and moved into place in one rename; a
directory holding ``summary.json`` is therefore always a complete run.

A result folder carries a marker (:data:`RESULT_MARKER`) naming its kind (``simulation``, ``demo``,
``exploration``, ``report``) and every entry greendc wrote. An existing folder is replaced only when it is
a complete greendc result of the same kind, holds nothing else, and the user asked for it (``--overwrite``);
anything else (a folder with a user's files, the working directory, a file) is refused before any work
starts. While a command writes a folder it holds a lock on it, so two commands cannot both write one folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from greendc.atomic import write_directory_atomic, write_json_atomic
from greendc.errors import GreendcError, quoted

RESULT_MARKER = ".greendc-result.json"
RESULT_KINDS = ("simulation", "exploration", "demo", "report")


class OutputFolderError(GreendcError):
    """An output folder greendc may not write: it holds a user's files, another result, or is in use."""


def _entries(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if entry.name != RESULT_MARKER)


def read_result_kind(folder: Path) -> tuple[str | None, list[str]]:
    """The kind and the entries a greendc result folder's marker lists (``None`` and ``[]`` without one)."""
    try:
        marker = json.loads((folder / RESULT_MARKER).read_text(encoding="utf-8"))
        kind, entries = marker["kind"], marker["entries"]
    except (OSError, ValueError, KeyError, TypeError):
        return None, []
    if not isinstance(kind, str) or not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        return None, []
    return kind, entries


def check_output_folder(out_dir: Path | str, kind: str, overwrite: bool = False) -> Path:
    """The resolved ``out_dir`` once it is known that a result of ``kind`` may be written there.

    A new or empty folder may always be written; a complete greendc result of the same ``kind`` holding
    nothing but what greendc wrote, only with ``overwrite``; anything else never.
    """
    text = str(out_dir)
    if "\0" in text:
        raise OutputFolderError(f"{quoted(text)}: an output folder path cannot contain a NUL character")
    out_dir = Path(text).expanduser().resolve()
    for parent in out_dir.parents:
        if parent.exists() and not parent.is_dir():
            raise OutputFolderError(f"{out_dir}: {parent} is a file, not a folder")
    if not out_dir.exists():
        return out_dir
    if not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir}: exists and is a file, not a folder; choose a new folder for --out")
    found = _entries(out_dir)
    if not found and not (out_dir / RESULT_MARKER).exists():
        return out_dir
    existing_kind, written = read_result_kind(out_dir)
    # A marker greendc cannot read counts as foreign too, so that the message names what is in the way.
    foreign = [name for name in found if name not in written] or ([] if existing_kind else [RESULT_MARKER])
    if existing_kind is None or foreign:
        shown = ", ".join(quoted(name) for name in foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise OutputFolderError(f"{out_dir}: the folder holds files greendc did not write ({shown}); choose a "
                                "new or empty folder for --out (nothing was changed)")
    if existing_kind != kind:
        raise OutputFolderError(f"{out_dir}: holds a greendc {existing_kind} result, not a {kind} result; "
                                "choose another folder for --out")
    if not overwrite:
        raise OutputFolderError(f"{out_dir}: holds a greendc {kind} result already; add --overwrite to replace "
                                "it, or choose another folder for --out")
    return out_dir


def _lock_path(out_dir: Path) -> Path:
    # Locks live in the temporary directory, not beside the output: no droppings in a user's folders, and an
    # flock is released by the kernel when its process dies, so a killed run never leaves a stale lock.
    folder = Path(tempfile.gettempdir()) / "greendc-locks"
    folder.mkdir(exist_ok=True)
    return folder / f"{hashlib.sha256(str(out_dir).encode()).hexdigest()[:24]}.lock"


@contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold the lock on ``out_dir`` (resolved) for the block; refuse at once if another command holds it."""
    with _lock_path(out_dir).open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputFolderError(f"{out_dir}: another greendc command is writing this folder now; wait for "
                                    "it to finish or choose another folder for --out") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_marker(folder: Path, kind: str, entries: list[str]) -> None:
    write_json_atomic(folder / RESULT_MARKER, {"kind": kind, "entries": sorted(set(entries)),
                                               "written_by": "greendc"})


@dataclass(frozen=True)
class ResultFolder:
    """An output folder claimed for one result of ``kind``: checked and locked, written once by :meth:`write`."""

    path: Path
    kind: str
    overwrite: bool

    def write(self, fill: Callable[[Path], None]) -> Path:
        """Let ``fill`` write the whole result into a staging folder, then move it into place in one rename."""
        check_output_folder(self.path, self.kind, self.overwrite)  # again: the folder may have changed meanwhile

        def fill_and_mark(staging: Path) -> None:
            fill(staging)
            _write_marker(staging, self.kind, _entries(staging))

        return write_directory_atomic(self.path, fill_and_mark)

    def add(self, name: str, write: Callable[[Path], Path]) -> Path:
        """Add one more entry to the result after :meth:`write`: ``write(path)`` writes it (atomically itself)."""
        written = write(self.path / name)
        _, entries = read_result_kind(self.path)
        _write_marker(self.path, self.kind, [*entries, name])
        return written


@contextmanager
def claim_output_folder(out_dir: Path | str, kind: str, overwrite: bool = False) -> Iterator[ResultFolder]:
    """Check and lock an output folder before a command's work starts; hold the lock until it is written."""
    if kind not in RESULT_KINDS:
        raise ValueError(f"unknown result kind {kind!r}")
    path = check_output_folder(out_dir, kind, overwrite)
    with output_lock(path):
        yield ResultFolder(path, kind, overwrite)


def write_result_folder(out_dir: Path | str, fill: Callable[[Path], None], kind: str,
                        overwrite: bool = False) -> Path:
    """Check, lock and write a result folder in one call (for a command whose work is the writing)."""
    with claim_output_folder(out_dir, kind, overwrite) as folder:
        return folder.write(fill)
