"""A fleet's jobs: self-contained (their input files travel in them as bytes) and keyed by their inputs' content.

A worker, local or on a Ray cluster, needs no shared filesystem: :func:`run_fleet_job` writes a job's files into
a fresh temporary folder, runs it there and returns the outcome. The job's :attr:`FleetJob.key` is a SHA-256 of
everything its result depends on (the site file's bytes, the weather's, the controller, its options, the model's
bytes), so that a rerun finds the results it already has.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from greendc.site.schema import CsvLoad
from greendc.site.weather import SHIPPED_WEATHER, resolve_weather
from greendc.workflows.simulation import SimulationJob, SimulationOutcome

#: Bump when what a job computes changes, so that no older result is reused.
JOB_FORMAT = 1


@dataclass(frozen=True)
class FleetJob:
    """One job of a fleet: a simulation, or the training of a site's model, with its files as bytes."""

    kind: Literal["simulate", "train"]
    label: str  # in words, for progress and errors: ``Two-hall example data center, ai in chicago``
    key: str
    files: tuple[tuple[str, bytes], ...]  # path relative to the job's folder -> content
    simulation: SimulationJob | None = None  # paths relative to the job's folder
    train_seed: int = 0


@dataclass(frozen=True)
class FleetOutcome:
    """What a job returns: a simulation's outcome, or a trained model file's bytes."""

    key: str
    simulation: SimulationOutcome | None = None
    model_gdm: bytes | None = None


def _digest_of_file(path: str) -> str:
    """The SHA-256 of a file's bytes (remembered while its size and modification time stay the same)."""
    status = Path(path).stat()
    return _digest_of_version(path, status.st_size, status.st_mtime_ns)


@lru_cache(maxsize=256)
def _digest_of_version(path: str, size_bytes: int, modified_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _is_shipped(weather: str) -> bool:
    return weather.strip().lower() in SHIPPED_WEATHER


class _Shipment:
    """The files a job carries, each under its own subfolder so that two of one name do not collide."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.digests: dict[str, str] = {}

    def add(self, path: Path) -> str:
        name = f"f{len(self.files)}/{path.name}"
        self.files[name] = path.read_bytes()
        self.digests[name] = hashlib.sha256(self.files[name]).hexdigest()
        return name

    def weather(self, weather: str, relative_to: Path | None) -> str:
        """A shipped climate stays a name (every worker has it) but its content is keyed; a file is carried."""
        path = resolve_weather(weather, relative_to=relative_to)
        if _is_shipped(weather):
            self.digests[weather] = _digest_of_file(str(path))
            return weather
        return self.add(path)


def content_key(parts: dict[str, Any]) -> str:
    """The SHA-256 of a job's inputs (a JSON-able mapping), as 64 hex digits."""
    text = json.dumps({"format": JOB_FORMAT, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def simulation_job(job: SimulationJob, site_file: Path, label: str) -> FleetJob:
    """The self-contained form of ``job``: its site's weather, design weather, load CSV and model carried."""
    shipment = _Shipment()
    site, site_dir = job.site, job.site_dir
    updates: dict[str, Any] = {"weather": shipment.weather(site.weather, site_dir)}
    if site.design_weather is not None:
        updates["design_weather"] = shipment.weather(site.design_weather, site_dir)
    if isinstance(site.it_load, CsvLoad):
        load_path = site.it_load.path if site.it_load.path.is_absolute() else (site_dir or Path()) / site.it_load.path
        updates["it_load"] = site.it_load.model_copy(update={"path": Path(shipment.add(load_path))})
    weather = None if job.weather is None else shipment.weather(job.weather, site_dir)
    options = dict(job.controller_options)
    if "model" in options:
        options["model"] = shipment.add(Path(options["model"]))
    portable = replace(job, site=site.model_copy(update=updates), site_dir=None, weather=weather,
                       controller_options=options)
    key = content_key({
        "kind": "simulate", "site_file": _digest_of_file(str(site_file)), "files": shipment.digests,
        "controller": job.controller, "weather": weather,
        "options": {k: v for k, v in options.items() if k != "model"}, "summary_only": job.summary_only,
        "hourly": job.hourly, "faults": [repr(fault) for fault in job.faults], "ab": repr(job.ab)})
    return FleetJob("simulate", label, key, tuple(shipment.files.items()), simulation=portable)


def train_job(exploration: list[tuple[str, Path]], site_json: bytes, seed: int, label: str,
              explore_keys: list[str]) -> FleetJob:
    """Training a site's model on its exploration runs (``(climate folder name, telemetry.parquet)`` each)."""
    files = [(f"{name}/telemetry.parquet", path.read_bytes()) for name, path in exploration]
    files.append(("site.json", site_json))
    key = content_key({"kind": "train", "explorations": explore_keys, "seed": seed,
                       "site": hashlib.sha256(site_json).hexdigest()})
    return FleetJob("train", label, key, tuple(files), train_seed=seed)


def run_fleet_job(job: FleetJob, report: Callable[[float], None] | None = None) -> FleetOutcome:
    """Run one fleet job in a fresh temporary folder holding its files; report progress from 0 to 1."""
    from greendc.workflows.simulation import _run_job

    with tempfile.TemporaryDirectory(prefix="greendc-fleet-job-") as temporary:
        folder = Path(temporary)
        for name, content in job.files:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
        if job.kind == "train":
            return FleetOutcome(job.key, model_gdm=_train_here(folder, job.train_seed))
        assert job.simulation is not None
        simulation = job.simulation
        weather = simulation.weather
        if weather is not None and not _is_shipped(weather):
            weather = str(folder / weather)
        options = dict(simulation.controller_options)
        if "model" in options:
            options["model"] = str(folder / options["model"])
        local = replace(simulation, site_dir=folder, weather=weather, controller_options=options)
        return FleetOutcome(job.key, simulation=_run_job(local, report))


def _train_here(folder: Path, seed: int) -> bytes:
    """Fit the facility model on the telemetry under ``folder`` and return the ``.gdm`` file's bytes."""
    from greendc.telemetry.schema import load_telemetry
    from greendc.workflows.train import train, training_site

    site = training_site(folder)
    telemetry = load_telemetry(folder)
    train(telemetry, folder / "model.gdm", site, seed=seed)
    return (folder / "model.gdm").read_bytes()
