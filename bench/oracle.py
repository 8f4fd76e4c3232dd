"""The hindsight oracle of the ai benchmark for both objectives from one sweep of annual runs per climate.

``greendc bench --controllers ...,oracle --objective facility|cooling`` reports the oracle for one objective
next to the controllers. This script runs the same sweep (``greendc.experiments.oracle_sweep_jobs`` over
``greendc.results.oracle.ORACLE_GRID``, within the site's setpoint bounds) once and writes the oracle of both
objectives (facility and cooling) to one JSON file, as quoted in bench/README.md section 5.

Usage::

    python bench/oracle.py                                   # all five climates, bench/results/oracle.json
    python bench/oracle.py --climates chicago --weather /path/to/heat-wave.epw
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from greendc.experiments import climate_name, oracle_record, oracle_sweep_jobs, simulate_many
    from greendc.results.oracle import OBJECTIVES, ORACLE_GRID
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
    sweeps = {climate_name(climate): oracle_sweep_jobs(site, site_dir, climate, ORACLE_GRID) for climate in climates}
    jobs = [job for sweep in sweeps.values() for job in sweep]
    # One pool for every climate, so neither worker idles at the end of a climate's sweep.
    outcomes = iter(simulate_many(jobs, workers=args.workers))
    report = {"benchmark": "bench/oracle.py", "date": datetime.now(UTC).isoformat(timespec="seconds"),
              "site": str(args.site), "grid": ORACLE_GRID.as_dict(), "climates": {}}
    for name, sweep in sweeps.items():
        runs = [(job, next(outcomes)) for job in sweep]
        report["climates"][name] = {objective: oracle_record(name, runs, objective) for objective in OBJECTIVES}
        facility, cooling = report["climates"][name]["facility"], report["climates"][name]["cooling"]
        print(f"{name}: {len(runs)} runs, {facility['wall_s']:.0f} s of simulation; oracle facility "
              f"{facility['facility_kwh'] / 1000:.1f} MWh, cooling-objective oracle cooling "
              f"{cooling['cooling_kwh'] / 1000:.1f} MWh", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
