"""The hindsight oracle of the ai benchmark: best constant setpoints per month from a sweep of annual runs.

For each climate it runs the example site (or ``--site``) for a year under every combination of constant
supply-air setpoint, zone rise and chilled-water setpoint in the grid (``constant`` controller), then takes,
month by month, the run with the lowest objective among those whose hottest inlet stayed at or below 27 C
(``greendc.results.oracle``). It writes both objectives (facility and cooling) to one JSON file.

Usage::

    python bench/oracle.py                                   # all five climates, bench/results/oracle.json
    python bench/oracle.py --climates chicago --weather /path/to/heat-wave.epw
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUPPLY_AIR_C = (16.0, 18.0, 20.0, 22.0, 24.0, 25.0, 26.0)
ZONE_RISE_C = (5.0, 9.0)
CHILLED_WATER_C = (7.0, 11.0)


def main(argv: list[str] | None = None) -> int:
    from greendc.experiments import SimulationJob, simulate_many
    from greendc.results.oracle import oracle_from_sweep
    from greendc.site.loader import load_site
    from greendc.site.weather import SHIPPED_WEATHER

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=REPO / "examples" / "sites" / "two-hall-chicago.yaml")
    parser.add_argument("--climates", default="all")
    parser.add_argument("--weather", action="append", default=[], help="extra EPW files (repeatable)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "oracle.json")
    args = parser.parse_args(argv)
    site, site_dir = load_site(args.site)
    climates = list(SHIPPED_WEATHER) if args.climates == "all" else args.climates.split(",")
    climates += args.weather
    grid = list(itertools.product(SUPPLY_AIR_C, ZONE_RISE_C, CHILLED_WATER_C))
    report = {"benchmark": "bench/oracle.py", "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "site": str(args.site), "grid": {"supply_air_c": SUPPLY_AIR_C, "zone_rise_c": ZONE_RISE_C,
                                              "chilled_water_c": CHILLED_WATER_C}, "climates": {}}
    for climate in climates:
        started = time.perf_counter()
        jobs = [SimulationJob(site, site_dir, "constant", climate,
                              {"supply_air_c": s, "zone_rise_c": r, "chilled_water_c": w}) for s, r, w in grid]
        outcomes = simulate_many(jobs, workers=args.workers)
        runs = [{"setpoints": job.controller_options, "monthly": outcome.summary["monthly"]}
                for job, outcome in zip(jobs, outcomes, strict=True)]
        name = climate if climate in SHIPPED_WEATHER else Path(climate).stem
        report["climates"][name] = {
            objective: oracle_from_sweep(runs, objective=objective) for objective in ("facility", "cooling")
        }
        facility = report["climates"][name]["facility"]
        print(f"{name}: {len(runs)} runs in {time.perf_counter() - started:.0f} s; oracle facility "
              f"{facility['facility_kwh'] / 1000:.1f} MWh, cooling-objective oracle cooling "
              f"{report['climates'][name]['cooling']['cooling_kwh'] / 1000:.1f} MWh", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
