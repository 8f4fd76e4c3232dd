"""How fast a fleet runs: site-years per hour on the local process pool and on a local Ray, at 1 and 2 workers,
Ray's overhead per job, and a 20-site synthetic fleet end to end (annual runs).

Three measurements, each in a fresh output folder (nothing is resumed):

* ``baselines``: the two example sites under ``default`` and ``trim-respond`` in Chicago and Dulles (8 annual
  runs), on ``local`` and ``ray`` with 1 and 2 workers;
* ``ai``: the two-hall example site under the ``ai`` with the shipped model in Chicago and Dulles (2 annual
  runs), the same four executors;
* ``synthetic``: 20 sites generated from the two examples (floor area x0.5-2.5, power density x0.7-1.3, IT load
  fraction 0.45-0.9, the five shipped climates in turn), ``default`` in each site's own climate, the fleet table
  and the fleet ESG report (on the local pool, 2 workers).

Ray's start (``ray.init``) is timed apart from the runs; its overhead per job is (Ray's wall - the local pool's
wall) / jobs at the same workers, and is given as a share of the mean annual run's wall time.

Usage::

    python bench/fleet.py                       # everything, JSON to bench/results/fleet.json (some 12 minutes)
    python bench/fleet.py --only synthetic      # one measurement
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from greendc.workflows.demo import demo_model_path
from greendc.workflows.executor import LocalProcessExecutor
from greendc.workflows.fleet import load_fleet
from greendc.workflows.fleet_run import run_fleet
from greendc.workflows.ray_executor import RayExecutor

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "sites"
CLIMATES = ("chicago", "dulles", "tampa", "golden", "san-francisco")


def _write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def baseline_fleet(folder: Path) -> Path:
    """The two example sites, two rule baselines, two climates: 8 annual runs."""
    return _write(folder, "fleet.yaml", {
        "name": "baselines", "controllers": ["default", "trim-respond"], "climates": ["chicago", "dulles"],
        "sites": [{"path": str(EXAMPLES / "two-hall-chicago.yaml")},
                  {"path": str(EXAMPLES / "three-hall-chilled-water.yaml")}]})


def ai_fleet(folder: Path) -> Path:
    """The two-hall example under the ai (the shipped model) in two climates: 2 annual runs."""
    return _write(folder, "fleet.yaml", {
        "name": "ai", "controllers": ["ai"], "climates": ["chicago", "dulles"],
        "sites": [{"path": str(EXAMPLES / "two-hall-chicago.yaml"), "model": str(demo_model_path())}]})


def synthetic_site(index: int) -> dict[str, Any]:
    """Site ``index`` of the synthetic fleet: an example varied in size, density, load and climate."""
    source = ("two-hall-chicago", "three-hall-chilled-water")[index % 2]
    data = yaml.safe_load((EXAMPLES / f"{source}.yaml").read_text())
    area_scale = 0.5 + 2.0 * ((index * 7) % 10) / 9
    density_scale = 0.7 + 0.6 * ((index * 3) % 5) / 4
    load_fraction = 0.45 + 0.45 * ((index * 11) % 8) / 7
    data["name"] = f"Synthetic site {index + 1:02d} ({source})"
    data["weather"] = CLIMATES[index % len(CLIMATES)]
    for zone in data["zones"]:
        zone["floor_area_m2"] = round(zone["floor_area_m2"] * area_scale, 1)
        zone["it_design_power_density_w_per_m2"] = round(zone["it_design_power_density_w_per_m2"] * density_scale)
    data["it_load"] = {"kind": "constant", "fraction": round(load_fraction, 3)}
    return data


def synthetic_fleet(folder: Path, sites: int = 20) -> Path:
    paths = [_write(folder, f"site-{i + 1:02d}.yaml", synthetic_site(i)).name for i in range(sites)]
    return _write(folder, "fleet.yaml", {"name": f"{sites}-site synthetic fleet", "organization": "Synthetic Co",
                                         "controllers": ["default"], "sites": [{"path": p} for p in paths]})


def _measure(fleet_path: Path, executor_name: str, workers: int) -> dict[str, Any]:
    """One fleet run in a fresh folder: wall s, Ray's start s, jobs, mean annual run s, site-years per hour."""
    fleet = load_fleet(fleet_path)
    start_s = 0.0
    if executor_name == "ray":
        executor: Any = RayExecutor(workers)
        began = time.perf_counter()
        executor.start()
        start_s = time.perf_counter() - began
    else:
        executor = LocalProcessExecutor(workers)
    with tempfile.TemporaryDirectory(prefix="greendc-bench-fleet-") as out:
        began = time.perf_counter()
        try:
            result = run_fleet(fleet, Path(out) / "fleet", executor)
        finally:
            if executor_name == "ray":
                executor.stop()
        wall_s = time.perf_counter() - began
        run_walls = [r.wall_s for records in result.records.values() for r in records if r.wall_s is not None]
        report_ok = (Path(out) / "fleet" / "report" / "figures.json").is_file()
    jobs = result.jobs_run
    mean_run_s = statistics.mean(run_walls)
    return {"executor": executor_name, "workers": workers, "jobs": jobs, "wall_s": round(wall_s, 1),
            "ray_start_s": round(start_s, 1), "mean_run_wall_s": round(mean_run_s, 1),
            # What a job costs beyond its simulation: planning, shipping, the executor, the table and report.
            "per_job_beyond_run_s": round(wall_s * workers / jobs - mean_run_s, 2),
            "site_years_per_hour": round(jobs / (wall_s / 3600), 1), "report_rendered": report_ok}


def _overheads(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ray's overhead per job against the local pool at the same workers, s and % of a mean annual run."""
    out = []
    for workers in (1, 2):
        local = next(r for r in rows if r["executor"] == "local" and r["workers"] == workers)
        ray = next(r for r in rows if r["executor"] == "ray" and r["workers"] == workers)
        per_job_s = (ray["wall_s"] - local["wall_s"]) * workers / ray["jobs"]
        out.append({"workers": workers, "ray_overhead_per_job_s": round(per_job_s, 2),
                    "ray_overhead_pct_of_annual_run": round(100 * per_job_s / local["mean_run_wall_s"], 1)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("baselines", "ai", "synthetic"))
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "fleet.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="minutes")}
    with tempfile.TemporaryDirectory(prefix="greendc-bench-fleets-") as folder:
        for name, make in (("baselines", baseline_fleet), ("ai", ai_fleet)):
            if args.only not in (None, name):
                continue
            sub = Path(folder) / name
            sub.mkdir()
            path = make(sub)
            rows = [_measure(path, kind, workers) for workers in (1, 2) for kind in ("local", "ray")]
            results[name] = {"runs": rows, "ray_overhead": _overheads(rows)}
            print(name, json.dumps(results[name], indent=1), flush=True)
        if args.only in (None, "synthetic"):
            sub = Path(folder) / "synthetic"
            sub.mkdir()
            results["synthetic"] = _measure(synthetic_fleet(sub), "local", 2)
            print("synthetic", json.dumps(results["synthetic"]), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
