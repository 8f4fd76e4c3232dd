"""Write files and folders so that a failure never leaves half of one.

A file is written to a temporary sibling and renamed over its target in one step; a folder is filled in a
temporary sibling folder and moved into place in one rename. Readers therefore see either the old
version or the new one, never a mix. (``greendc.results.store`` adds the rules about which existing
folders may be replaced.)
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_file_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Let ``write`` write a binary stream into a temporary sibling of ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600; results are ordinary files
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write JSON (non-finite numbers as null) through a temporary file and an atomic rename."""
    text = json.dumps(_clean(data), indent=2, ensure_ascii=False) + "\n"
    return write_file_atomic(path, lambda stream: stream.write(text.encode("utf-8")))


def write_directory_atomic(out_dir: Path, fill: Callable[[Path], None]) -> Path:
    """Let ``fill`` write into a fresh temporary directory, then move it to ``out_dir``.

    An existing ``out_dir`` is replaced only after ``fill`` succeeded.
    """
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} exists and is not a folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.partial-"))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp creates 0700
        fill(staging)
        if out_dir.exists():
            retired = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
            os.replace(out_dir, retired / out_dir.name)
            os.replace(staging, out_dir)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


