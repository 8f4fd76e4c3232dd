"""The demo: a year of the example data center under the legacy control, trim-respond and the ai.

It writes one result folder: a run folder per controller, a comparison plot, the benchmark records and an
ESG report of the ai's year, whose avoided emissions come from its simulated saving against the legacy
control: a saving of the kind "simulated" (EnergyPlus twin, ai vs default), which the report never calls
verified because no meter recorded it.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from greendc.carbon.inventory import BenchSaving
from greendc.report.render import build_report
from greendc.results.plots import plot_comparison
from greendc.results.records import write_bench_records
from greendc.results.store import claim_output_folder
from greendc.site.loader import load_site
from greendc.site.schema import Site
from greendc.workflows.bench import bench_record
from greendc.workflows.executor import Executor
from greendc.workflows.run_inventory import inventory_from_run
from greendc.workflows.simulation import (
    SimulationJob,
    SimulationOutcome,
    controller_options,
    save_outcome,
    simulate_many,
)

#: The order the runs start in: the longest first, so that both workers stay busy.
DEMO_CONTROLLERS = ("ai", "default", "trim-respond")
#: The order they are shown in: the baseline first.
DEMO_ORDER = ("default", "trim-respond", "ai")


def demo_site_path() -> Path:
    """The example site that ships inside the package."""
    return Path(str(importlib.resources.files("greendc") / "data" / "sites" / "two-hall-chicago.yaml"))


def demo_model_path() -> Path:
    """The facility model shipped for the demo site, trained on exploration runs in Dulles, Tampa and Golden.

    Retrain with ``greendc explore examples/sites/two-hall-chicago.yaml --out explore --climates
    dulles,tampa,golden`` then ``greendc train explore --out src/greendc/data/models/two-hall-chicago.gdm``.
    """
    return Path(str(importlib.resources.files("greendc") / "data" / "models" / "two-hall-chicago.gdm"))


@dataclass(frozen=True)
class DemoResult:
    site: Site
    outcomes: dict[str, SimulationOutcome]
    out_dir: Path
    plot_path: Path
    report_dir: Path


def run_demo(out_dir: Path, overwrite: bool = False, workers: int = 2, executor: Executor | None = None,
             on_progress: Callable[[int, float], None] | None = None,
             on_report: Callable[[], None] | None = None) -> DemoResult:
    """Run the demo into ``out_dir``; ``on_progress(i, fraction)`` follows run ``DEMO_CONTROLLERS[i]``,
    ``on_report()`` is called when the report starts (it takes a few seconds)."""
    site, site_dir = load_site(demo_site_path())
    with claim_output_folder(out_dir, "demo", overwrite) as folder:
        options = controller_options(list(DEMO_CONTROLLERS), [z.name for z in site.zones], demo_model_path())
        jobs = [SimulationJob(site, site_dir, name, None, options[name]) for name in DEMO_CONTROLLERS]
        outcomes = simulate_many(jobs, workers=workers, executor=executor, on_progress=on_progress)
        by_name = dict(zip(DEMO_CONTROLLERS, outcomes, strict=True))

        def fill(staging: Path) -> None:
            for name, outcome in by_name.items():
                save_outcome(outcome, staging / name)
            runs = {name: (by_name[name].result.telemetry, by_name[name].summary) for name in DEMO_ORDER}
            plot_comparison(runs, outcomes[0].result.zone_names, staging / "comparison.png")
            write_bench_records(staging / "bench.json",
                                [bench_record(site.weather, by_name[name].summary) for name in DEMO_ORDER])

        written = folder.write(fill)
        if on_report:
            on_report()
        # Built from the written runs, so that the report's audit trail names their final paths.
        saving = BenchSaving(path=str(written / "bench.json"), climate=site.weather, baseline_controller="default",
                             improved_controller="ai")
        report_dir = folder.add("report", lambda path: build_report(inventory_from_run(written / "ai", bench=saving),
                                                                    path))
    return DemoResult(site, {name: by_name[name] for name in DEMO_ORDER}, written, written / "comparison.png",
                      report_dir)
