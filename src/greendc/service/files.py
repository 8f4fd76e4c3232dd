"""The service's file store: one folder per organization under the settings' ``data_dir``.

Every path the database keeps is relative to ``data_dir`` (so a data folder can move); every path a user
names (a result file to download) is resolved and checked to lie inside the folder it belongs to, so that
``../`` or an absolute path never reaches another organization's files or the server's own.
"""

from __future__ import annotations

import secrets
from pathlib import Path, PurePosixPath

from greendc.errors import UsageError


def organization_folder(data_dir: Path, organization_id: int) -> Path:
    """The organization's own folder (absolute), made on first use."""
    folder = Path(data_dir) / "organizations" / str(int(organization_id))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_folder(data_dir: Path, organization_id: int, kind: str, stem: str) -> Path:
    """A new, empty folder ``organizations/ORG/KIND/STEM-RANDOM`` (absolute). The random part keeps a data
    folder kept across a new database from handing a new job (or model) an old one's files."""
    parent = organization_folder(data_dir, organization_id) / kind
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / f"{stem}-{secrets.token_hex(4)}"
    folder.mkdir()
    return folder


def relative_to_store(data_dir: Path, path: Path) -> str:
    """``path`` as the database keeps it: relative to ``data_dir``, with forward slashes."""
    return Path(path).resolve().relative_to(Path(data_dir).resolve()).as_posix()


def stored_path(data_dir: Path, relative: str) -> Path:
    """The absolute path of a path the database keeps (relative to ``data_dir``)."""
    return Path(data_dir) / relative


def file_inside(folder: Path, name: str) -> Path:
    """The file ``name`` (a relative path such as ``run/summary.json``) inside ``folder``; a name that leaves
    the folder (``..``, an absolute path, a link outside it) or that is no file there is a UsageError."""
    parts = PurePosixPath(name.replace("\\", "/"))
    if not name or parts.is_absolute() or ".." in parts.parts or ":" in name:
        raise UsageError(f"file: {name[:80]!r} is not a file of this result (give a path inside it)")
    root = Path(folder).resolve()
    path = (root / parts).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise UsageError(f"file: {name[:80]!r} is not a file of this result")
    return path


def files_under(folder: Path) -> list[tuple[str, int]]:
    """Every file under ``folder``: (path relative to it with forward slashes, size in bytes), sorted."""
    root = Path(folder)
    if not root.is_dir():
        return []
    return sorted((path.relative_to(root).as_posix(), path.stat().st_size)
                  for path in root.rglob("*") if path.is_file() and not path.is_symlink())
