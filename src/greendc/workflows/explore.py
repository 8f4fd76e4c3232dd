"""Collect training telemetry: drive the twin with safe, varied setpoints in one or more climates."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from greendc.atomic import write_json_atomic
from greendc.results.store import claim_output_folder
from greendc.site.schema import Site
from greendc.site.weather import resolve_weather
from greendc.workflows.executor import Executor
from greendc.workflows.simulation import SimulationJob, SimulationOutcome, save_outcome, simulate_many

#: The validated site description an exploration folder holds, for ``greendc train``.
SITE_FILE = "site.json"


def write_site_file(site: Site, folder: Path) -> Path:
    """Write ``site`` (validated, as :class:`Site` dumps it) to ``folder / site.json``: what the telemetry
    beside it was recorded on, which ``greendc train`` reads so that the model knows the site it learned."""
    return write_json_atomic(Path(folder) / SITE_FILE, site.model_dump(mode="json"))


def slug(text: str) -> str:
    """A folder name for a climate or site: lower case, dashes for anything but letters and digits."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "site"


@dataclass(frozen=True)
class Exploration:
    """The exploration runs, one per climate, and the folder they were written to."""

    climates: list[str]
    outcomes: list[SimulationOutcome]
    out_dir: Path


def explore(site: Site, site_dir: Path | None, out_dir: Path, climates: list[str] | None = None, seed: int = 0,
            overwrite: bool = False, workers: int = 2, executor: Executor | None = None,
            on_progress: Callable[[int, float], None] | None = None) -> Exploration:
    """Run the ``explore`` controller once per climate (the site's own by default) into ``out_dir``.

    Each climate's telemetry goes to its own subfolder and the site description to ``site.json``;
    ``greendc train OUT_DIR`` reads them all. Climate ``i`` explores with random state ``seed + i``. The
    output folder is checked before any run starts.
    """
    names = climates or [site.weather]
    for name in names:
        resolve_weather(name, relative_to=site_dir)
    jobs = [SimulationJob(site, site_dir, "explore", name, {"random_state": seed + i}) for i, name in enumerate(names)]
    with claim_output_folder(out_dir, "exploration", overwrite) as folder:
        outcomes = simulate_many(jobs, workers=workers, executor=executor, on_progress=on_progress)

        def fill(staging: Path) -> None:
            for name, outcome in zip(names, outcomes, strict=True):
                save_outcome(outcome, staging / slug(Path(name).stem))
            write_site_file(site, staging)

        written = folder.write(fill)
    return Exploration(names, outcomes, written)
