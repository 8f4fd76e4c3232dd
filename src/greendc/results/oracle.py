"""The hindsight oracle: the best constant setpoints per month, chosen after the fact.

From a sweep of full-year runs with constant setpoints (``constant`` controller) over :data:`ORACLE_GRID`,
each month takes the run with the lowest objective (facility or cooling electricity) among those whose
hottest ITE inlet never exceeded the limit in that month. The oracle's year is the sum of those monthly
bests. It is a reference, not a controller: no real operator knows next month's weather, and the switch
between months is free. ``greendc bench --controllers ...,oracle`` runs the sweep and reports it as one row.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from greendc.errors import GreendcError
from greendc.site.schema import Setpoints

#: What the oracle (and the ai) can minimise: facility (IT + cooling) or cooling electricity.
OBJECTIVES = ("facility", "cooling")

#: The ASHRAE recommended maximum inlet temperature every chosen month must respect, C.
INLET_LIMIT_C = 27.0

#: Per-month figures that add up to the oracle's year.
_SUMMED_KEYS = ("it_kwh", "cooling_kwh", "facility_kwh", "water_m3", "steps_above_27c", "steps_above_32c",
                "steps_below_18c", "steps_humid")


class OracleError(GreendcError, ValueError):
    """The sweep cannot give an oracle: no grid point within the bounds, or none safe in some month."""


@dataclass(frozen=True)
class SetpointGrid:
    """Constant setpoints to sweep: every combination of the three axes.

    Parameters
    ----------
    supply_air_c : supply-air setpoints, C
    zone_rise_c : zone (return-air) cooling setpoint above the supply air, K
    chilled_water_c : chilled-water supply setpoints, C (ignored on sites without a chiller plant)
    """

    supply_air_c: tuple[float, ...]
    zone_rise_c: tuple[float, ...]
    chilled_water_c: tuple[float, ...]

    def as_dict(self) -> dict[str, list[float]]:
        """The axes as lists, for JSON."""
        return {"supply_air_c": list(self.supply_air_c), "zone_rise_c": list(self.zone_rise_c),
                "chilled_water_c": list(self.chilled_water_c)}


#: The oracle's sweep: 7 supply-air x 2 zone-rise x 2 chilled-water setpoints, 28 annual runs per climate
#: before the site's bounds trim it. Coarse on purpose: each point is a full year of simulation.
ORACLE_GRID = SetpointGrid(
    supply_air_c=(16.0, 18.0, 20.0, 22.0, 24.0, 25.0, 26.0),
    zone_rise_c=(5.0, 9.0),
    chilled_water_c=(7.0, 11.0),
)


def sweep_setpoints(bounds: Setpoints, grid: SetpointGrid = ORACLE_GRID, chiller_plant: bool = True
                    ) -> list[dict[str, float]]:
    """The ``constant`` controller options of the sweep, within the site's setpoint bounds.

    Supply-air and chilled-water setpoints outside ``bounds`` are dropped, so the oracle never relies on a
    setpoint the operator forbade. The zone setpoint (supply air + rise, C) is brought within
    ``bounds.zone_cooling_c`` the way the runner clips every controller, and the rise recorded is the one
    actually applied; grid points that become the same run are swept once. Without a chiller plant the
    chilled-water axis changes nothing and is left out.
    """
    supply_values = [s for s in grid.supply_air_c if bounds.supply_air_c.min <= s <= bounds.supply_air_c.max]
    water_values: list[float | None] = (
        [w for w in grid.chilled_water_c if bounds.chilled_water_c.min <= w <= bounds.chilled_water_c.max]
        if chiller_plant else [None]
    )
    points: list[dict[str, float]] = []
    for supply_c, rise_c, water_c in itertools.product(supply_values, grid.zone_rise_c, water_values):
        applied_rise_c = round(bounds.zone_cooling_c.clip(supply_c + rise_c) - supply_c, 6)
        if applied_rise_c <= 0:
            continue  # return air no warmer than the supply air: the VAV boxes would run at full flow all year
        point = {"supply_air_c": supply_c, "zone_rise_c": applied_rise_c}
        if water_c is not None:
            point["chilled_water_c"] = water_c
        if point not in points:
            points.append(point)
    return points


def oracle_from_sweep(runs: list[dict[str, Any]], objective: str = "facility",
                      inlet_limit_c: float = INLET_LIMIT_C) -> dict[str, Any]:
    """Combine a sweep's monthly figures into the oracle's year.

    ``runs`` holds one record per constant-setpoint run: ``setpoints`` (a dict) and ``monthly``, the
    summary's per-month dicts (``month``, ``it_kwh``, ``cooling_kwh``, ``facility_kwh``, ``water_m3``,
    ``inlet_max_c`` in C and the step counts ``steps_above_27c``, ``steps_above_32c``, ``steps_below_18c``,
    ``steps_humid``). Energy is in kWh, water in m3; the year's figures are the chosen months' sums.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    key = f"{objective}_kwh"
    months = sorted({m["month"] for run in runs for m in run["monthly"]})
    chosen = []
    for month in months:
        candidates = [(m[key], run["setpoints"], m) for run in runs for m in run["monthly"]
                      if m["month"] == month and m["inlet_max_c"] <= inlet_limit_c]
        if not candidates:
            raise OracleError(f"no swept setpoint keeps inlets at or below {inlet_limit_c} C in month {month}")
        _, setpoints, figures = min(candidates, key=lambda c: c[0])
        chosen.append({"month": month, "setpoints": setpoints,
                       **{k: figures[k] for k in (*_SUMMED_KEYS, "inlet_max_c")}})
    if not chosen:
        raise OracleError("the sweep has no runs")
    total = {k: sum(m[k] for m in chosen) for k in _SUMMED_KEYS}
    return {"objective": objective, "inlet_limit_c": inlet_limit_c, **total,
            "pue": total["facility_kwh"] / total["it_kwh"], "inlet_max_c": max(m["inlet_max_c"] for m in chosen),
            "monthly": chosen, "swept_runs": len(runs)}
