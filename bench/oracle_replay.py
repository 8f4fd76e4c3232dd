"""The hourly oracle replayed in the twin, and repaired until its replay keeps the limits (issue 16).

The hourly-hindsight oracle (``greendc.results.oracle``) adds up hours of constant-setpoint runs: each hour's
figures come from a run that held its setpoints all along. A real controller switching between those
setpoints carries the plant's state from one hour into the next, above all the halls' moisture: an hour of
cool supply air may start the direct evaporative stage on recirculated air, and the water it adds stays for
hours. This bench replays the oracle's choice in the twin (``HourlySetpointsController``) and, where the replay
breaks a limit in an hour whose chosen run had kept it, takes that run off the table for that hour and the
``--lookback-hours`` before it (where the switch that carried the moisture in was made), chooses again and
replays again, until the replay keeps the limits wherever the sweep could. The last replay is a trajectory the
twin really ran: a reference no hourly controller with these levers can be asked to beat and that is not
itself out of reach.

Usage::

    python bench/oracle_replay.py --climate chicago     # 45 swept runs and ~12 replays, about 5 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from greendc.control.baselines import HourlySetpointsController
from greendc.results.oracle import HOURLY_LIMITS, HOURLY_ORACLE_GRID, choose_runs, hourly_table
from greendc.results.summary import summarize
from greendc.site.loader import load_site
from greendc.site.schema import Site
from greendc.twin.builder import build_twin
from greendc.twin.runner import run_simulation
from greendc.workflows.bench import oracle_sweep_jobs
from greendc.workflows.simulation import simulate_many

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "examples" / "sites" / "two-hall-chicago.yaml"
Setpoints = tuple[float, float, float | None]


def replay(site: Site, site_dir: Path, climate: str, hours: list[Setpoints]) -> tuple[dict, pd.DataFrame]:
    """Run the twin under the per-hour setpoints: the run summary and its per-hour table."""
    twin = build_twin(site, site_dir=site_dir, weather=climate)
    result = run_simulation(twin, HourlySetpointsController(tuple(hours)))
    summary = summarize(result.telemetry, result.zone_names, result.timestep_h)
    return summary.model_dump(), hourly_table(result.telemetry, result.zone_names, result.timestep_h)


def repaired_oracle(climate: str, objective: str, limits: str, lookback_hours: int, max_replays: int,
                    workers: int) -> dict:
    """The oracle's choice, replayed and repaired; the figures of each replay and of the last."""
    site, site_dir = load_site(SITE)
    sweep = oracle_sweep_jobs(site, site_dir, climate, HOURLY_ORACLE_GRID, hourly=True)
    tables = [outcome.hourly for outcome in simulate_many(sweep, workers=workers)]
    points = [(job.controller_options["supply_air_c"], job.controller_options["zone_rise_c"],
               job.controller_options.get("chilled_water_c")) for job in sweep]
    objective_kwh = np.column_stack([table[f"{objective}_kwh"].to_numpy() for table in tables])
    violations = np.column_stack([table[HOURLY_LIMITS[limits]].to_numpy() for table in tables])
    removed = np.zeros(violations.shape, dtype=bool)
    hours = np.arange(len(objective_kwh))
    history = []
    for attempt in range(max_replays):
        # A removed run counts as breaking the limits in every one of its steps that hour, so that it is
        # chosen again only where every other run breaks them more.
        best, _ = choose_runs(objective_kwh, np.where(removed, violations.max() + 1, violations))
        summary, replayed = replay(site, site_dir, climate, [points[index] for index in best])
        carried = (replayed[HOURLY_LIMITS[limits]].to_numpy() > 0) & (violations[hours, best] == 0)
        history.append({"replay": attempt + 1, "chosen_hours_kwh": float(objective_kwh[hours, best].sum()),
                        **{key: summary[key] for key in ("facility_kwh", "it_kwh", "cooling_kwh", "steps_above_27c",
                                                         "steps_below_18c", "steps_humid")},
                        "hours_breaking_limits_the_sweep_kept": int(carried.sum())})
        print(json.dumps(history[-1]), flush=True)
        if not carried.any():
            break
        for back in range(lookback_hours + 1):
            rows = np.clip(np.flatnonzero(carried) - back, 0, None)
            removed[rows, best[rows]] = True
    return {"climate": climate, "objective": objective, "limits": limits, "lookback_hours": lookback_hours,
            "swept_runs": len(sweep), "replays": history, "repaired": not carried.any()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--climate", default="chicago")
    parser.add_argument("--objective", default="facility", choices=("facility", "cooling"))
    parser.add_argument("--limits", default="temperature+humidity", choices=tuple(HOURLY_LIMITS))
    parser.add_argument("--lookback-hours", type=int, default=2)
    parser.add_argument("--max-replays", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the record here")
    args = parser.parse_args(argv)
    record = repaired_oracle(args.climate, args.objective, args.limits, args.lookback_hours, args.max_replays,
                             args.workers)
    first, last = record["replays"][0], record["replays"][-1]
    print(f"{args.climate}: the oracle's hours {first['chosen_hours_kwh'] / 1000:.2f} MWh; replayed "
          f"{first['facility_kwh'] / 1000:.2f} MWh with {first['steps_humid']} humid steps; after "
          f"{len(record['replays'])} replays {last['facility_kwh'] / 1000:.2f} MWh with {last['steps_humid']} "
          f"humid steps ({'repaired' if record['repaired'] else 'not repaired'})")
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
