"""A model used where it was not trained: a drifted plant, widened setpoint bounds, a bigger site (issue 16).

The ai's shipped model learned the example site (``examples/sites/two-hall-chicago.yaml``) from exploration
runs in Dulles, Tampa and Golden. Each case runs a year under the ai with that model and under trim-and-respond
(which needs no model), on the same plant and weather:

- ``drifted plant``: Chicago, recirculation fraction 0.3 instead of the site's 0.1 (more hot exhaust reaches
  the inlets than the model learned). The ai should adapt its margin and still use less than trim-respond.
- ``widened bounds``: Tampa, supply air 8-32 C and zone cooling 16-36 C instead of 12-26 and 18-30 (a model
  reused after the operator widened the bounds). The ai must stay within what it saw in training.
- ``bigger site``: Chicago, the same halls at 2,350 W/m2 (1,150 kW of IT instead of 98), used with
  ``accept_model_mismatch`` (refused otherwise): the ai must hand over wherever the load leaves its training.

Each row gives the warning line ``greendc simulate`` prints for the case (``model_site_warnings``), steps
above 27 C and below 18 C, humid steps, facility and cooling electricity and the ai's guard counts.

Usage::

    python bench/model_reuse.py --json bench/results/model_reuse.json     # 6 annual runs, about 3 minutes
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from greendc.errors import GreendcError
from greendc.site.schema import Site
from greendc.workflows.demo import demo_model_path
from greendc.workflows.simulation import SimulationJob, model_site_warnings, simulate_many

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "examples" / "sites" / "two-hall-chicago.yaml"
DEFAULT_OUT = REPO / "bench" / "results" / "model_reuse.json"


def cases() -> dict[str, tuple[Site, str, dict[str, Any]]]:
    """Case name -> (site, weather, extra ai options)."""
    data = yaml.safe_load(SITE.read_text())
    drifted = Site.model_validate({**data, "recirculation_fraction": 0.3})
    widened = Site.model_validate({**data, "setpoints": {**data["setpoints"], "supply_air_c": {"min": 8, "max": 32},
                                                         "zone_cooling_c": {"min": 16, "max": 36}}})
    zones = [{**zone, "it_design_power_density_w_per_m2": 2350} for zone in data["zones"]]
    bigger = Site.model_validate({**data, "zones": zones})
    return {"drifted plant": (drifted, "chicago", {}), "widened bounds": (widened, "tampa", {}),
            "bigger site": (bigger, "chicago", {"accept_model_mismatch": True})}


def warning_line(site: Site, model: Path) -> str:
    """What ``greendc simulate --controller ai`` says about the shipped model on this site: its warning line,
    or the refusal it gives without ``--accept-model-mismatch``."""
    try:
        return "; ".join(model_site_warnings(site, model)) or "(none)"
    except GreendcError as error:
        return f"refused: {error}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", type=Path, default=demo_model_path(), help="the ai's model (default: shipped)")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    jobs, labels = [], []
    for name, (site, weather, extra) in cases().items():
        for controller in ("ai", "trim-respond"):
            options = {"model": str(args.model), **extra} if controller == "ai" else {}
            jobs.append(SimulationJob(site, None, controller, weather, options, summary_only=True))
            labels.append((name, weather, controller, warning_line(site, args.model) if controller == "ai" else ""))
    outcomes = simulate_many(jobs, workers=args.workers)
    rows = []
    for (name, weather, controller, warning), outcome in zip(labels, outcomes, strict=True):
        summary = outcome.summary
        rows.append({"case": name, "climate": weather, "controller": controller, "warning": warning,
                     "steps_above_27c": summary.steps_above_27c, "steps_below_18c": summary.steps_below_18c,
                     "steps_humid": summary.steps_humid, "facility_kwh": summary.facility_kwh,
                     "cooling_kwh": summary.cooling_kwh, "guard_counts": summary.guard_counts or {}})
    args.json.write_text(json.dumps({"started": started.isoformat(timespec="seconds"), "rows": rows}, indent=1))
    print("| case | climate | controller | >27 C | <18 C | humid | facility MWh | cooling MWh | guards |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        guards = Counter(row["guard_counts"])
        shown = ", ".join(f"{guard} {count}" for guard, count in guards.most_common() if guard != "none") or "-"
        print(f"| {row['case']} | {row['climate']} | {row['controller']} | {row['steps_above_27c']} | "
              f"{row['steps_below_18c']} | {row['steps_humid']} | {row['facility_kwh'] / 1000:.1f} | "
              f"{row['cooling_kwh'] / 1000:.1f} | {shown} |")
    for row in rows:
        if row["warning"]:
            print(f"- {row['case']}: {row['warning']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
