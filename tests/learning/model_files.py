"""Helpers to damage model files the way a disk, a download or a hostile user might."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Callable
from typing import Any

#: Offsets within a zip central-directory entry (PKWARE APPNOTE 4.3.12).
_CENTRAL_SIGNATURE = b"PK\x01\x02"
CENTRAL_FIELDS = {"flag_bits": (8, "<H"), "compress_type": (10, "<H"), "file_size": (24, "<I")}


def rezipped(data: bytes, edits: dict[str, bytes | None] | None = None,
             extra: dict[str, bytes] | None = None) -> bytes:
    """The archive ``data`` with members replaced (``None`` drops one) and ``extra`` ones added; every member
    gets a fresh CRC, so the damage is inside the texts, not in the zip."""
    edits = edits or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            content = edits.get(name, source.read(name))
            if content is not None:
                target.writestr(name, content)
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def with_meta(data: bytes, change: Callable[[dict[str, Any]], object]) -> bytes:
    """The archive with its ``meta.json`` changed in place by ``change``."""
    meta = json.loads(member(data, "meta.json"))
    change(meta)
    return rezipped(data, {"meta.json": json.dumps(meta).encode()})


def with_text(data: bytes, name: str, change: Callable[[str], str]) -> bytes:
    """The archive with booster text ``boosters/{name}.txt`` replaced by ``change(text)``."""
    path = f"boosters/{name}.txt"
    return rezipped(data, {path: change(member(data, path).decode()).encode()})


def patched_central_entry(data: bytes, name: str, field: str, value: int) -> bytes:
    """The archive with one field of member ``name``'s central-directory entry overwritten (what zipfile
    trusts for sizes and methods), as a crafted file would have it."""
    encoded = name.encode()
    position = data.find(_CENTRAL_SIGNATURE)
    while position >= 0:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46:position + 46 + name_length] == encoded:
            offset, layout = CENTRAL_FIELDS[field]
            patched = bytearray(data)
            struct.pack_into(layout, patched, position + offset, value)
            return bytes(patched)
        position = data.find(_CENTRAL_SIGNATURE, position + 4)
    raise KeyError(name)
