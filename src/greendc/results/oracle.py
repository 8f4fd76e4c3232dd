"""The hindsight oracle: the best constant setpoints per month, chosen after the fact.

From a sweep of full-year runs with constant setpoints (``constant`` controller) over :data:`ORACLE_GRID`,
each month takes the run with the lowest objective (facility or cooling electricity) among those whose
hottest ITE inlet never exceeded the limit in that month. The oracle's year is the sum of those monthly
bests. It is a reference, not a controller: no real operator knows next month's weather, and the switch
between months is free. ``greendc bench --controllers ...,oracle`` runs the sweep and reports it as one row.

The hourly-hindsight oracle (:func:`hourly_oracle_from_sweep`) makes the same choice every hour, from a finer
sweep (:data:`HOURLY_ORACLE_GRID`) and the runs' per-hour tables (:func:`hourly_table`), among the runs whose
inlets all stayed within 18-27 C that hour, and in a second variant also within the envelope's humidity
limits. A data hall's thermal mass is small, so a year of hourly switches between constant-setpoint runs is
close to the best any hourly controller with these levers can do; it is still hindsight: each hour's figures
are those of a run that held its setpoints all along (the switch costs nothing) and the hour's weather is known.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from greendc.errors import GreendcError
from greendc.results.summary import envelope_flags, inlet_extremes
from greendc.site.schema import Setpoints
from greendc.telemetry.sensors import FACILITY

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

#: The hourly oracle's sweep: supply air 16-26 C in 1 K steps x zone rise 5 or 9 K x chilled water 7 or 11 C,
#: 44 annual runs per climate before the site's bounds trim it. It holds every point of :data:`ORACLE_GRID`,
#: so a bench asking for both oracles runs the monthly one on a subset of the same runs.
HOURLY_ORACLE_GRID = SetpointGrid(
    supply_air_c=tuple(float(supply_c) for supply_c in range(16, 27)),
    zone_rise_c=(5.0, 9.0),
    chilled_water_c=(7.0, 11.0),
)

#: The hourly oracle's limits, by name: the per-hour column counting the steps that break them.
#: ``temperature``: any inlet above 27 C or below 18 C; ``temperature+humidity``: that, or a humid inlet
#: (dew point above 15 C or relative humidity above 60 %, as the run summary counts ``steps_humid``).
HOURLY_LIMITS = {"temperature": "steps_outside_18_27c", "temperature+humidity": "steps_outside_envelope"}

#: Per-hour figures summed into the hourly oracle's year (energy kWh, water m3, step counts).
_HOURLY_SUMMED_KEYS = ("it_kwh", "cooling_kwh", "facility_kwh", "water_m3", "steps_above_27c", "steps_above_32c",
                       "steps_below_18c", "steps_humid")


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
    ``steps_humid``). Energy is in kWh, water in m3; the year's figures are the chosen months' sums. The
    choice is :func:`choose_runs`'s, a month above ``inlet_limit_c`` being one violation; unlike the hourly
    oracle, a month without a safe run is an :class:`OracleError` (a constant month that overheats the
    servers is no reference).
    """
    key = _objective_key(objective)
    if not runs:
        raise OracleError("the sweep has no runs")
    months = sorted({m["month"] for run in runs for m in run["monthly"]})
    by_month = [{m["month"]: m for m in run["monthly"]} for run in runs]
    # A run without some month cannot be chosen for it: infinitely many violations.
    objective_kwh = np.array([[run[month][key] if month in run else np.inf for run in by_month]
                              for month in months], dtype=float).reshape(len(months), len(runs))
    too_hot = np.array([[float(run[month]["inlet_max_c"] > inlet_limit_c) if month in run else np.inf
                         for run in by_month] for month in months], dtype=float).reshape(len(months), len(runs))
    best, safe = choose_runs(objective_kwh, too_hot)
    chosen = []
    for month, run_index, month_is_safe in zip(months, best, safe, strict=True):
        if not month_is_safe:
            raise OracleError(f"no swept setpoint keeps inlets at or below {inlet_limit_c} C in month {month}")
        figures = by_month[run_index][month]
        chosen.append({"month": month, "setpoints": runs[run_index]["setpoints"],
                       **{k: figures[k] for k in (*_SUMMED_KEYS, "inlet_max_c")}})
    if not chosen:
        raise OracleError("the sweep has no runs")
    total = {k: sum(m[k] for m in chosen) for k in _SUMMED_KEYS}
    return {"objective": objective, "inlet_limit_c": inlet_limit_c, **total,
            "pue": total["facility_kwh"] / total["it_kwh"], "inlet_max_c": max(m["inlet_max_c"] for m in chosen),
            "monthly": chosen, "swept_runs": len(runs)}


def _objective_key(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    return f"{objective}_kwh"


def choose_runs(objective_kwh: np.ndarray, violating_steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The oracles' one selection rule: per period (row), which run (column) to take.

    A run is safe in a period when it has no violating step there; the choice is the safe run with the
    lowest objective (kWh) or, where no run is safe, the one with the fewest violating steps and among those
    the lowest objective. Ties go to the first run in sweep order. Returns the chosen column per row and
    whether that row had a safe run.
    """
    fewest = violating_steps.min(axis=1, keepdims=True)
    candidates = np.where(violating_steps == fewest, objective_kwh, np.inf)
    return candidates.argmin(axis=1), fewest[:, 0] == 0


def hourly_table(telemetry: pd.DataFrame, zone_names: list[str], timestep_h: float) -> pd.DataFrame:
    """A run's figures per clock hour, for the hourly oracle: some 8,760 rows instead of 35,040 steps of frames.

    Columns: ``hour`` (the hour's start, by the start of each timestep as the summary's months), ``it_kwh``,
    ``cooling_kwh``, ``facility_kwh``, ``water_m3``, ``inlet_max_c`` (hottest inlet of the hour, C), the
    summary's step counts ``steps_above_27c``, ``steps_above_32c``, ``steps_below_18c``, ``steps_humid``
    (judged on the hottest, coolest and most humid inlet of each step by
    :func:`~greendc.results.summary.envelope_flags`), and the steps breaking the oracle's limits
    (:data:`HOURLY_LIMITS`): ``steps_outside_18_27c`` and ``steps_outside_envelope`` (each step once, however
    many limits it breaks).
    """
    hottest, coolest, humid = inlet_extremes(telemetry, zone_names)
    flags = envelope_flags(hottest, coolest, humid)
    outside_18_27c = flags["steps_above_27c"] | flags["steps_below_18c"]
    water_columns = [c for c in telemetry.columns if c.endswith("_water_m3")]
    per_step = pd.DataFrame({
        "it_w": telemetry[FACILITY.it_power_w.column], "cooling_w": telemetry[FACILITY.cooling_power_w.column],
        "facility_w": telemetry[FACILITY.facility_power_w.column], "water_m3": telemetry[water_columns].sum(axis=1),
        "inlet_max_c": hottest, **{name: flags[name].astype(np.int32) for name in flags.columns},
        "steps_outside_18_27c": outside_18_27c.astype(np.int32),
        "steps_outside_envelope": (outside_18_27c | flags["steps_humid"]).astype(np.int32),
    })
    hour = (telemetry["time"] - pd.Timedelta(hours=timestep_h)).dt.floor("h").to_numpy()
    table = per_step.groupby(hour).agg({name: "max" if name == "inlet_max_c" else "sum" for name in per_step})
    for name in ("it", "cooling", "facility"):
        table[f"{name}_kwh"] = table.pop(f"{name}_w") * timestep_h / 1000.0
    return table.rename_axis("hour").reset_index()


def _stacked(tables: list[pd.DataFrame], column: str) -> np.ndarray:
    """One column of every run's per-hour table: hours x runs."""
    return np.column_stack([table[column].to_numpy() for table in tables])


def hourly_choice(tables: list[pd.DataFrame], objective: str = "facility",
                  limits: str = "temperature") -> tuple[np.ndarray, np.ndarray]:
    """The hourly oracle's choice: per hour, the index of the run (of ``tables``, each a run's
    :func:`hourly_table` over the same hours) that :func:`choose_runs` takes with the steps breaking
    ``limits`` (a key of :data:`HOURLY_LIMITS`) as violations, and whether that hour had a safe run."""
    key = _objective_key(objective)
    if limits not in HOURLY_LIMITS:
        raise ValueError(f"limits must be one of {', '.join(HOURLY_LIMITS)}, not {limits!r}")
    if not tables:
        raise OracleError("the sweep has no runs")
    hours = tables[0]["hour"].to_numpy()
    if any(not np.array_equal(table["hour"].to_numpy(), hours) for table in tables):
        raise OracleError("the sweep's runs do not cover the same hours")
    return choose_runs(_stacked(tables, key).astype(float), _stacked(tables, HOURLY_LIMITS[limits]))


def hourly_oracle_from_sweep(runs: list[dict[str, Any]], objective: str = "facility",
                             limits: str = "temperature") -> dict[str, Any]:
    """Combine a sweep's per-hour tables into the hourly-hindsight oracle's year.

    ``runs`` holds one record per constant-setpoint run: ``setpoints`` (a dict) and ``hourly``, its
    :func:`hourly_table` (all runs over the same hours). Each hour takes the run :func:`choose_runs` picks,
    with the steps breaking ``limits`` (a key of :data:`HOURLY_LIMITS`) as violations. The year's energy
    (kWh), water (m3) and step counts are the chosen hours' sums; ``hours_without_safe_run`` counts the hours
    where every run broke the limits; ``setpoint_hours`` how many hours each value of each setpoint was chosen.
    """
    tables = [run["hourly"] for run in runs]
    best, safe = hourly_choice(tables, objective, limits)
    rows = np.arange(len(best))

    def chosen(column: str) -> np.ndarray:  # the chosen run's value, hour by hour
        return _stacked(tables, column)[rows, best]

    total: dict[str, Any] = {name: chosen(name).sum() for name in _HOURLY_SUMMED_KEYS}
    total = {name: int(value) if name.startswith("steps_") else float(value) for name, value in total.items()}
    return {"objective": objective, "limits": limits, **total,
            "pue": total["facility_kwh"] / total["it_kwh"] if total["it_kwh"] > 0 else float("nan"),
            "inlet_max_c": float(chosen("inlet_max_c").max()), "hours": len(best),
            "hours_without_safe_run": int((~safe).sum()),
            "setpoint_hours": _setpoint_hours([runs[index]["setpoints"] for index in best]),
            "swept_runs": len(runs)}


def _setpoint_hours(chosen: list[dict[str, float]]) -> dict[str, dict[str, int]]:
    """How many hours each value of each setpoint was chosen: {"supply_air_c": {"16": 120, ...}, ...}."""
    hours: dict[str, dict[str, int]] = {}
    for name in sorted({name for setpoints in chosen for name in setpoints}):
        values = [setpoints[name] for setpoints in chosen if name in setpoints]
        unique, counts = np.unique(np.asarray(values, dtype=float), return_counts=True)
        hours[name] = {f"{value:g}": int(count) for value, count in zip(unique, counts, strict=True)}
    return hours
