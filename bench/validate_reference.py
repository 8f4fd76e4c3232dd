"""Validate greendc's generated model against the EnergyPlus reference data center, climate by climate.

For every requested climate this runs

* the reference model (``../shared/reference/datacenter-2zone-reference.epJSON``, never copied into the
  repository) with the EnergyPlus binary, and reads its annual meters from its SQLite output;
* the model greendc generates from ``bench/sites/reference-2zone.yaml`` (the reference's geometry, IT
  load, cooling system and, for this comparison only, its server curves) through the co-simulation runner
  with the ``default`` controller,

and compares annual electricity (both runs use the same TMY3 weather file):

* IT: the reference's ``Electricity:Building`` meter (ITE CPU + server fans + UPS losses, plus its
  1.3 MWh of lights) against greendc's IT (CPU + server fans) plus UPS losses;
* cooling: the reference's ``Electricity:HVAC + Electricity:Plant`` against greendc's cooling
  (supply fans, DX coils, evaporative coolers, chiller, tower, pumps);
* facility: ``Electricity:Facility`` against greendc's facility meter;
* PUE on both sides as facility / IT with IT including UPS losses (the reference README's definition; the
  ISO/IEC 30134-2 PUE of greendc's summary divides by IT after the UPS instead).

Usage::

    python bench/validate_reference.py                        # all five shipped climates, 2 processes
    python bench/validate_reference.py --climates chicago --jobs 1
    python bench/validate_reference.py --site bench/sites/reference-2zone-nominal.yaml --out /tmp/nominal.json

It prints a table, writes JSON (``--out``) and exits with status 1 when any |difference| in IT, cooling or
facility exceeds ``--tolerance-pct`` (10 % by default).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE_DIR = REPO.parent / "shared" / "reference"
REFERENCE_MODEL = "datacenter-2zone-reference.epJSON"
SITE = REPO / "bench" / "sites" / "reference-2zone.yaml"
DEFAULT_OUT = REPO / "bench" / "results" / "validate_reference.json"
CLIMATES = ("chicago", "dulles", "tampa", "golden", "san-francisco")
J_PER_KWH = 3.6e6

#: Reference meters read from its SQLite output (annual sums over the weather-file run period).
REFERENCE_METERS = (
    "Electricity:Facility", "Electricity:HVAC", "Electricity:Plant", "Electricity:Building",
    "InteriorEquipment:Electricity", "InteriorLights:Electricity", "ITE-CPU:InteriorEquipment:Electricity",
    "ITE-Fans:InteriorEquipment:Electricity", "ITE-UPS:InteriorEquipment:Electricity", "Fans:Electricity",
    "Cooling:Electricity", "Pumps:Electricity", "HeatRejection:Electricity",
)


def reference_model(reference_dir: Path) -> Path:
    path = reference_dir / REFERENCE_MODEL
    if not path.is_file():
        raise SystemExit(
            f"reference model not found: {path}\n"
            "bench/validate_reference.py compares against the EnergyPlus reference data center, which lives "
            "outside the repository in ../shared/reference/ (give another place with --reference-dir)."
        )
    return path


def read_meters(sql_path: Path) -> dict[str, float]:
    """Annual sums (kWh) of the meters over the weather-file run period of an EnergyPlus SQLite file."""
    query = """
        SELECT d.Name, SUM(r.Value) FROM ReportData r
        JOIN ReportDataDictionary d ON r.ReportDataDictionaryIndex = d.ReportDataDictionaryIndex
        JOIN Time t ON r.TimeIndex = t.TimeIndex
        JOIN EnvironmentPeriods e ON t.EnvironmentPeriodIndex = e.EnvironmentPeriodIndex
        WHERE d.IsMeter = 1 AND e.EnvironmentType = 3 AND d.ReportingFrequency = 'Hourly'
        GROUP BY d.Name"""
    with sqlite3.connect(sql_path) as connection:
        sums = {name: value / J_PER_KWH for name, value in connection.execute(query)}
    missing = [m for m in ("Electricity:Facility", "Electricity:HVAC", "Electricity:Plant",
                           "Electricity:Building") if m not in sums]
    if missing:
        raise RuntimeError(f"{sql_path}: the reference run reported no hourly meter {', '.join(missing)}")
    return {name: sums[name] for name in REFERENCE_METERS if name in sums}


def run_reference(climate: str, model: str) -> dict[str, Any]:
    """Run the reference epJSON with the EnergyPlus binary (no Python in the loop)."""
    from greendc.site.weather import resolve_weather
    from greendc.twin.engine import energyplus_binary
    from greendc.twin.runner import read_err

    weather = resolve_weather(climate)
    workdir = Path(tempfile.mkdtemp(prefix=f"greendc-ref-{climate}-"))
    try:
        start = time.perf_counter()
        completed = subprocess.run([str(energyplus_binary()), "-d", str(workdir), "-w", str(weather), model],
                                   capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        err = read_err(workdir / "eplusout.err")
        if completed.returncode != 0 or not (workdir / "eplusout.sql").is_file():
            raise RuntimeError(f"reference run for {climate} failed (exit {completed.returncode}): "
                               + " | ".join(err.fatal_messages[:2]))
        meters = read_meters(workdir / "eplusout.sql")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"weather": weather.name, "meters_kwh": meters, "wall_s": wall, "warnings": err.warnings,
            "severe_errors": err.severe}


def run_greendc(climate: str, site_path: str) -> dict[str, Any]:
    """Generate the reference site's model for a climate and co-simulate it with the default controller."""
    from greendc.control.registry import make_controller
    from greendc.results.summary import summarize
    from greendc.site.loader import load_site
    from greendc.twin.builder import build_twin
    from greendc.twin.runner import run_simulation

    site, site_dir = load_site(site_path)
    twin = build_twin(site, site_dir, weather=climate)
    result = run_simulation(twin, make_controller("default"))
    summary = summarize(result.telemetry, result.zone_names, result.timestep_h)
    keys = ("it_kwh", "ups_losses_kwh", "server_fans_kwh", "cooling_kwh", "facility_kwh", "other_kwh", "fans_kwh",
            "dx_coils_kwh", "chiller_kwh", "tower_kwh", "pumps_kwh", "evaporative_kwh", "inlet_mean_c",
            "inlet_max_c")
    return {"weather": twin.weather_path.name, "summary": {k: getattr(summary, k) for k in keys},
            "wall_s": result.wall_s, "warnings": result.err.warnings, "severe_errors": result.err.severe}


def _task(kind: str, climate: str, model: str, site_path: str) -> tuple[str, str, dict[str, Any]]:
    return kind, climate, run_reference(climate, model) if kind == "reference" else run_greendc(climate, site_path)


def _pct(ours: float, reference: float) -> float:
    return 100.0 * (ours / reference - 1.0)


def compare(reference: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    m, s = reference["meters_kwh"], ours["summary"]
    ref = {
        "it_kwh": m["Electricity:Building"],
        "cooling_kwh": m["Electricity:HVAC"] + m["Electricity:Plant"],
        "facility_kwh": m["Electricity:Facility"],
    }
    gdc = {
        "it_kwh": s["it_kwh"] + s["ups_losses_kwh"],
        "cooling_kwh": s["cooling_kwh"],
        "facility_kwh": s["facility_kwh"],
    }
    ref["pue"] = ref["facility_kwh"] / ref["it_kwh"]
    gdc["pue"] = gdc["facility_kwh"] / gdc["it_kwh"]
    figures = {key: {"reference": ref[key], "greendc": gdc[key], "diff_pct": _pct(gdc[key], ref[key])}
               for key in ("it_kwh", "cooling_kwh", "facility_kwh", "pue")}
    # End uses, for explaining differences (reference meters vs greendc telemetry groups).
    end_uses = {
        "supply_fans_kwh": (m.get("Fans:Electricity"), s["fans_kwh"]),
        "coils_chiller_evaporative_kwh": (m.get("Cooling:Electricity"),
                                          s["dx_coils_kwh"] + s["chiller_kwh"] + s["evaporative_kwh"]),
        "pumps_kwh": (m.get("Pumps:Electricity"), s["pumps_kwh"]),
        "heat_rejection_kwh": (m.get("HeatRejection:Electricity"), s["tower_kwh"]),
        "server_fans_kwh": (m.get("ITE-Fans:InteriorEquipment:Electricity"), s["server_fans_kwh"]),
        "ups_losses_kwh": (m.get("ITE-UPS:InteriorEquipment:Electricity"), s["ups_losses_kwh"]),
        "lights_kwh": (m.get("InteriorLights:Electricity", 0.0), 0.0),
    }
    figures["end_uses"] = {
        key: {"reference": r, "greendc": g, "diff_pct": _pct(g, r) if r else None}
        for key, (r, g) in end_uses.items()
    }
    return figures


def _shown(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--climates", default=",".join(CLIMATES),
                        help=f"comma-separated shipped climates (default: {','.join(CLIMATES)})")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--reference-dir", type=Path, default=DEFAULT_REFERENCE_DIR)
    parser.add_argument("--site", type=Path, default=SITE, help=f"site to generate (default {SITE.relative_to(REPO)})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    parser.add_argument("--tolerance-pct", type=float, default=10.0)
    args = parser.parse_args(argv)

    climates = [c.strip() for c in args.climates.split(",") if c.strip()]
    unknown = sorted(set(climates) - set(CLIMATES))
    if unknown:
        parser.error(f"unknown climate(s) {', '.join(unknown)}; choose from {', '.join(CLIMATES)}")
    model = str(reference_model(args.reference_dir))

    from greendc.twin.engine import ENGINE_VERSION

    started = time.perf_counter()
    tasks = [(kind, climate) for climate in climates for kind in ("reference", "greendc")]
    results: dict[tuple[str, str], dict[str, Any]] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=context) as pool:
        futures = [pool.submit(_task, kind, climate, model, str(args.site.resolve())) for kind, climate in tasks]
        for future in futures:
            kind, climate, outcome = future.result()
            results[(kind, climate)] = outcome
            print(f"  done: {kind:9s} {climate:14s} {outcome['wall_s']:6.1f} s", file=sys.stderr, flush=True)

    report: dict[str, Any] = {
        "benchmark": "bench/validate_reference.py",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "energyplus": ENGINE_VERSION,
        "reference_model": REFERENCE_MODEL,
        "site": _shown(args.site),
        "controller": "default",
        "tolerance_pct": args.tolerance_pct,
        "it_definition": "reference Electricity:Building (ITE CPU + fans + UPS + lights) vs greendc IT + UPS losses",
        "cooling_definition": "reference Electricity:HVAC + Electricity:Plant vs greendc cooling_kwh",
        "pue_definition": "facility / IT including UPS losses, on both sides",
        "climates": {},
    }
    failures = []
    for climate in climates:
        reference, ours = results[("reference", climate)], results[("greendc", climate)]
        figures = compare(reference, ours)
        report["climates"][climate] = {"figures": figures, "reference_run": reference, "greendc_run": ours}
        for key in ("it_kwh", "cooling_kwh", "facility_kwh"):
            if abs(figures[key]["diff_pct"]) > args.tolerance_pct:
                failures.append(f"{climate} {key} {figures[key]['diff_pct']:+.1f} %")
    report["wall_s"] = time.perf_counter() - started
    report["passed"] = not failures

    header = (f"{'climate':14s} | {'IT ref MWh':>10s} {'greendc':>8s} {'diff':>7s} | {'cooling ref':>11s} "
              f"{'greendc':>8s} {'diff':>7s} | {'facility ref':>12s} {'greendc':>8s} {'diff':>7s} | "
              f"{'PUE ref':>7s} {'greendc':>7s} {'diff':>7s}")
    print(header)
    print("-" * len(header))
    for climate in climates:
        f = report["climates"][climate]["figures"]
        cells = []
        for key, width in (("it_kwh", 10), ("cooling_kwh", 11), ("facility_kwh", 12)):
            cells.append(f"{f[key]['reference'] / 1000:{width}.1f} {f[key]['greendc'] / 1000:8.1f} "
                         f"{f[key]['diff_pct']:+6.1f}%")
        cells.append(f"{f['pue']['reference']:7.3f} {f['pue']['greendc']:7.3f} {f['pue']['diff_pct']:+6.1f}%")
        print(f"{climate:14s} | " + " | ".join(cells))
    print(f"wall time {report['wall_s']:.0f} s with {args.jobs} process(es); "
          + ("all within" if not failures else "OUTSIDE") + f" +/-{args.tolerance_pct:g} %"
          + ("" if not failures else ": " + "; ".join(failures)))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
