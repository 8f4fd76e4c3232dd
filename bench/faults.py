"""Controllers under sensor faults: what the ai and trim-and-respond do when their sensors lie (issue 16).

On the example site (``examples/sites/two-hall-chicago.yaml``, its default recirculation fraction) and on a
drifted copy of its plant (recirculation fraction 0.3: more hot exhaust reaches the server inlets than the ai's
model was trained on), for two July weeks in Chicago, every controller runs once without faults and once
under each fault case below, every fault a 48-hour window from 07-05 00:00 (``greendc.telemetry.faults``; the
controller observes the fault, the telemetry and these figures stay true):

- both halls' inlets NaN; one inlet (West Hall's) ``none`` (a sensor that gives nothing), stuck, offset by
  -10 K, spiking +15 K for 1 h every 6 h;
- the outdoor dry bulb stale (updating every 3 h, a gateway polling late) and stuck.

Each row: plant, fault, controller, steps with the hottest inlet above 27 C, with the coolest below 18 C,
humid steps (``greendc.results.summary``), the guards the ai's decision log records (counts by guard, the
``none`` guard left out; "-" for a controller without a log), facility and cooling electricity (kWh). A run
that raises is a row "aborted: <error>", not the end of the benchmark. Runs go through the workflows layer
(``simulate_many`` with an executor that records a failed run and carries on), each run in its own
process, ``--workers`` at a time.

Usage::

    python bench/faults.py                          # 32 runs, about 5 minutes on 2 cores
    python bench/faults.py --json bench/results/faults.json --workers 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from greendc.site.schema import Site
from greendc.telemetry.faults import FaultsFile, SensorFault
from greendc.telemetry.sensors import FACILITY, ZONE
from greendc.workflows.demo import demo_model_path
from greendc.workflows.executor import LocalProcessExecutor
from greendc.workflows.simulation import SimulationJob, SimulationOutcome, controller_options, simulate_many

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "examples" / "sites" / "two-hall-chicago.yaml"
DEFAULT_OUT = REPO / "bench" / "results" / "faults.json"
#: Two July weeks; the faults start on the fifth, after the controllers have settled, and last two days.
PERIOD = {"timesteps_per_hour": 4, "begin_month": 7, "begin_day": 1, "end_month": 7, "end_day": 14}
WINDOW = {"start": "07-05 00:00", "hours": 48}
DRIFTED_RECIRCULATION = 0.3
CONTROLLERS = ("ai", "trim-respond")

_WEST, _EAST = ZONE.inlet_temp_c.of("West Hall"), ZONE.inlet_temp_c.of("East Hall")
_DRY_BULB = FACILITY.outdoor_dry_bulb_c.column
#: Fault case name -> the faults file's entries (each with :data:`WINDOW`).
FAULT_CASES: dict[str, list[dict[str, Any]]] = {
    "no fault": [],
    "both inlets nan": [{"sensor": _WEST, "kind": "nan"}, {"sensor": _EAST, "kind": "nan"}],
    "one inlet none": [{"sensor": _WEST, "kind": "none"}],
    "one inlet stuck": [{"sensor": _WEST, "kind": "stuck"}],
    "one inlet offset -10 K": [{"sensor": _WEST, "kind": "offset", "value_k": -10}],
    "one inlet spike +15 K 1 h/6 h": [{"sensor": _WEST, "kind": "spike", "value_k": 15, "every_hours": 6,
                                       "for_hours": 1}],
    "outdoor dry bulb stale (3 h)": [{"sensor": _DRY_BULB, "kind": "stale", "every_hours": 3}],
    "outdoor dry bulb stuck": [{"sensor": _DRY_BULB, "kind": "stuck"}],
}


def plants() -> dict[str, Site]:
    """The example site for :data:`PERIOD` as it is (``nominal``) and with its recirculation drifted."""
    data = yaml.safe_load(SITE.read_text())
    data["simulation"] = dict(PERIOD)
    nominal = Site.model_validate(data)
    drifted = Site.model_validate({**data, "recirculation_fraction": DRIFTED_RECIRCULATION})
    return {f"nominal (recirculation {nominal.recirculation_fraction:g})": nominal,
            f"drifted (recirculation {DRIFTED_RECIRCULATION:g})": drifted}


def fault_case(entries: list[dict[str, Any]]) -> tuple[SensorFault, ...]:
    """A case's faults, checked as a faults file would be."""
    if not entries:
        return ()
    return tuple(FaultsFile.model_validate({"faults": [{**entry, **WINDOW} for entry in entries]}).faults)


@dataclass(frozen=True)
class RecordingFailures:
    """An executor (``greendc.workflows.executor``) that runs each job in its own local process, as the default
    one does, and returns what a run raised as its outcome ("aborted: <error>") instead of stopping the rest."""

    workers: int = 2

    def run(self, job_function: Any, jobs: Any, on_progress: Any = None, on_done: Any = None) -> list[Any]:
        return LocalProcessExecutor(self.workers).run(partial(_caught, job_function), jobs, on_progress, on_done)


def _caught(job_function: Any, job: SimulationJob, report: Any) -> SimulationOutcome | str:
    try:
        return job_function(job, report)
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0][:160]
        return f"aborted: {type(error).__name__}: {first_line}"


def row(plant: str, fault: str, controller: str, outcome: SimulationOutcome | str) -> dict[str, Any]:
    base: dict[str, Any] = {"plant": plant, "fault": fault, "controller": controller}
    if isinstance(outcome, str):
        return {**base, "error": outcome}
    summary = outcome.summary
    guards = None if summary.guard_counts is None else {
        guard: count for guard, count in summary.guard_counts.items() if guard != "none"}
    return {**base, "steps_above_27c": summary.steps_above_27c, "steps_below_18c": summary.steps_below_18c,
            "steps_humid": summary.steps_humid, "guards": guards, "decisions": summary.decisions,
            "facility_kwh": round(summary.facility_kwh, 1), "cooling_kwh": round(summary.cooling_kwh, 1),
            "inlet_max_c": round(summary.inlet_max_c, 2), "faults": summary.faults}


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| plant | fault | controller | steps > 27 C | steps < 18 C | humid steps | guards fired | facility kWh "
             "| cooling kWh |", "|---|---|---|---|---|---|---|---|---|"]
    for record in rows:
        cells = [record["plant"], record["fault"], record["controller"]]
        if "error" in record:
            cells += [record["error"].replace("|", "/"), "", "", "", "", ""]
        else:
            guards = record["guards"]
            shown = "-" if guards is None else (", ".join(f"{g} {n}" for g, n in guards.items()) or "0")
            cells += [str(record["steps_above_27c"]), str(record["steps_below_18c"]), str(record["steps_humid"]),
                      shown, f"{record['facility_kwh']:,.0f}", f"{record['cooling_kwh']:,.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown (not a git checkout)"
    return commit + (" (with uncommitted changes)" if git("status", "--porcelain") else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=DEFAULT_OUT, metavar="OUT", help="where to write the rows")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time, each in its own process")
    parser.add_argument("--model", type=Path, default=demo_model_path(), help="the ai's model (default: shipped)")
    args = parser.parse_args(argv)
    sites = plants()
    zone_names = [zone.name for zone in next(iter(sites.values())).zones]
    options = controller_options(list(CONTROLLERS), zone_names, model=args.model)
    cases = {name: fault_case(entries) for name, entries in FAULT_CASES.items()}
    keys = [(plant, fault, controller) for plant in sites for fault in cases for controller in CONTROLLERS]
    jobs = [SimulationJob(sites[plant], SITE.parent, controller, None, options[controller], summary_only=True,
                          faults=cases[fault]) for plant, fault, controller in keys]
    started = datetime.now(UTC)
    by_index: dict[int, dict[str, Any]] = {}

    def done(index: int, outcome: SimulationOutcome | str) -> None:
        by_index[index] = row(*keys[index], outcome)
        print(json.dumps(by_index[index]), flush=True)

    simulate_many(jobs, on_done=done, executor=RecordingFailures(args.workers))
    rows = [by_index[index] for index in range(len(jobs))]
    report = {"when": started.isoformat(timespec="seconds"), "commit": _commit(),
              "wall_s": round((datetime.now(UTC) - started).total_seconds(), 1), "period": PERIOD, "window": WINDOW,
              "model": args.model.name, "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(markdown(rows))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
