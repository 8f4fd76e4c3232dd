"""The hindsight oracle: the best constant setpoints per month, chosen after the fact.

From a sweep of full-year runs with constant setpoints (``constant`` controller), each month takes the run
with the lowest objective (facility or cooling electricity) among those whose hottest ITE inlet never
exceeded the limit in that month. The oracle's year is the sum of those monthly bests. It is a reference,
not a controller: no real operator knows next month's weather, and the switch between months is free.
"""

from __future__ import annotations

from typing import Any


def oracle_from_sweep(runs: list[dict[str, Any]], objective: str = "facility", inlet_limit_c: float = 27.0
                      ) -> dict[str, Any]:
    """Combine a sweep's monthly figures into the oracle's year.

    ``runs`` holds one record per constant-setpoint run: ``setpoints`` (a dict) and ``monthly``, a list of
    per-month dicts with ``it_kwh``, ``cooling_kwh``, ``facility_kwh`` and ``inlet_max_c``.
    """
    key = f"{objective}_kwh"
    months = sorted({m["month"] for run in runs for m in run["monthly"]})
    chosen = []
    for month in months:
        candidates = [(m[key], run["setpoints"], m) for run in runs for m in run["monthly"]
                      if m["month"] == month and m["inlet_max_c"] <= inlet_limit_c]
        if not candidates:
            raise ValueError(f"no swept setpoint keeps inlets at or below {inlet_limit_c} C in month {month}")
        _, setpoints, figures = min(candidates, key=lambda c: c[0])
        chosen.append({"month": month, "setpoints": setpoints, **{k: figures[k] for k in
                                                                  ("it_kwh", "cooling_kwh", "facility_kwh",
                                                                   "inlet_max_c")}})
    total = {k: sum(m[k] for m in chosen) for k in ("it_kwh", "cooling_kwh", "facility_kwh")}
    return {"objective": objective, "inlet_limit_c": inlet_limit_c, **total,
            "pue": total["facility_kwh"] / total["it_kwh"], "inlet_max_c": max(m["inlet_max_c"] for m in chosen),
            "monthly": chosen, "swept_runs": len(runs)}
