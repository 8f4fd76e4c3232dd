"""Where the ai loses against the hourly-hindsight oracle within the humidity limits (issue 16).

Runs the oracle's constant-setpoint sweep of one climate with per-hour tables and one ai year, takes for each
hour the run the oracle chooses (``oracle-hourly-humid``), and splits the ai's excess over it into server (IT)
and cooling power, by month and by outdoor dry bulb, with the supply air each chose.

Usage::

    python bench/oracle_gap.py --climate chicago     # 45 annual runs, about a minute on 2 cores
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from greendc.results.oracle import HOURLY_ORACLE_GRID, hourly_choice, hourly_table
from greendc.site.loader import load_site
from greendc.workflows.bench import oracle_sweep_jobs
from greendc.workflows.demo import demo_model_path
from greendc.workflows.simulation import SimulationJob, simulate_many

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "examples" / "sites" / "two-hall-chicago.yaml"
OUTDOOR_BINS_C = [-40, 0, 10, 15, 20, 25, 30, 45]


def hourly_gap(climate: str, model: Path, workers: int) -> pd.DataFrame:
    """Per hour: the ai's and the humid oracle's facility, IT and cooling kWh, and their supply air, C."""
    site, site_dir = load_site(SITE)
    sweep = oracle_sweep_jobs(site, site_dir, climate, HOURLY_ORACLE_GRID, hourly=True)
    ai = SimulationJob(site, site_dir, "ai", climate, {"model": str(model)})
    outcomes = simulate_many([*sweep, ai], workers=workers)
    tables = [outcome.hourly for outcome in outcomes[:-1]]
    telemetry = outcomes[-1].result.telemetry
    zones = [column.split("/")[0] for column in telemetry.columns if column.endswith("/inlet_temp_c")]
    ai_hours = hourly_table(telemetry, zones, 1.0 / site.simulation.timesteps_per_hour)

    best, _ = hourly_choice(tables, "facility", "temperature+humidity")
    frame = pd.DataFrame({"hour": ai_hours["hour"]})
    for name in ("facility", "it", "cooling"):
        frame[f"ai_{name}_kwh"] = ai_hours[f"{name}_kwh"].to_numpy()
        frame[f"oracle_{name}_kwh"] = [tables[run][f"{name}_kwh"].iat[hour] for hour, run in enumerate(best)]
    frame["oracle_supply_air_c"] = [sweep[index].controller_options["supply_air_c"] for index in best]
    hours = (telemetry["time"] - pd.Timedelta(hours=1.0 / site.simulation.timesteps_per_hour)).dt.floor("h")
    by_hour = telemetry.groupby(hours.to_numpy())
    frame["outdoor_dry_bulb_c"] = by_hour["outdoor_dry_bulb_c"].mean().to_numpy()
    frame["ai_supply_air_c"] = by_hour[f"{zones[0]}/supply_air_setpoint_c"].mean().to_numpy()
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--climate", default="chicago")
    parser.add_argument("--model", type=Path, default=demo_model_path())
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    frame = hourly_gap(args.climate, args.model, args.workers)
    gap = {name: (frame[f"ai_{name}_kwh"] - frame[f"oracle_{name}_kwh"]) for name in ("facility", "it", "cooling")}
    print(f"{args.climate}: ai {frame.ai_facility_kwh.sum() / 1000:.1f} MWh, humid oracle's hours "
          f"{frame.oracle_facility_kwh.sum() / 1000:.1f} MWh; the ai's excess {gap['facility'].sum() / 1000:.2f} MWh "
          f"= IT {gap['it'].sum() / 1000:.2f} + cooling {gap['cooling'].sum() / 1000:.2f}")
    frame["excess_mwh"] = gap["facility"] / 1000
    print("\nexcess by month, MWh")
    print(frame.groupby(frame.hour.dt.month)["excess_mwh"].sum().round(2).to_string())
    print("\nby outdoor dry bulb, C")
    print(frame.groupby(pd.cut(frame.outdoor_dry_bulb_c, OUTDOOR_BINS_C), observed=True).agg(
        hours=("excess_mwh", "size"), excess_mwh=("excess_mwh", "sum"), ai_supply_air_c=("ai_supply_air_c", "mean"),
        oracle_supply_air_c=("oracle_supply_air_c", "mean")).round(2).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
