"""Reading the twin's results: a run's ``summary.json`` and a benchmark's JSON records.

The twin reports energy in kWh (``it_kwh``, ``facility_kwh``, ...); here it becomes MWh once, at the
boundary, so that the rest of the carbon part works in MWh only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greendc.carbon.errors import InventoryError
from greendc.files import InputFileError, read_json_file
from greendc.results.records import read_bench_records

NOT_END_USES_KWH: frozenset[str] = frozenset({"it_kwh", "cooling_kwh", "facility_kwh", "server_fans_kwh"})
"""Totals, and sub-items of IT energy (server fans are inside ``it_kwh``), which must not be stacked again."""

NOISE_KWH = 1e-6
"""Summed telemetry can leave -1e-11 kWh where a use is zero; that is float noise, not negative energy."""


@dataclass(frozen=True)
class MonthOfRun:
    """One month of a simulated run, in MWh."""

    month: int
    it_mwh: float
    cooling_mwh: float
    facility_mwh: float
    end_uses_mwh: dict[str, float]
    pue: float | None


@dataclass(frozen=True)
class RunSummary:
    """The parts of a greendc ``summary.json`` the carbon part uses."""

    path: Path
    site: str
    grid_region: str
    controller: str
    weather: str
    it_mwh: float
    cooling_mwh: float
    facility_mwh: float
    pue: float | None
    water_m3: float | None
    monthly: list[MonthOfRun] = field(default_factory=list)
    design: RunDesign | None = None


@dataclass(frozen=True)
class RunDesign:
    """What the simulated site was built with, read from the run's ``model.epJSON``: the installed IT power
    (the IT equipment's design power, EU 2024/1364 P_DIT, kW) and the IT halls' floor area (m2)."""

    installed_it_power_kw: float
    it_floor_area_m2: float


def _number(data: dict[str, Any], key: str, path: Path, where: str, *, optional: bool = False) -> float | None:
    value = data.get(key)
    if value is None:
        if optional:
            return None
        raise InventoryError(path, f"{where}{key}", "missing")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InventoryError(path, f"{where}{key}", f"must be a finite number (got {value!r})")
    if -NOISE_KWH < value < 0:
        return 0.0
    if value < 0:
        raise InventoryError(path, f"{where}{key}", f"must not be negative (got {value!r})")
    return float(value)


def _ratio(value: Any) -> float | None:
    """A PUE as written by the twin; a month without IT energy has none (null or NaN), which is not an error
    because the carbon part recomputes PUE from energy anyway."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


#: A run's summary and model, and a benchmark's records, are written by greendc: far below this.
MAX_RUN_FILE_BYTES = 256 * 1024 * 1024


def _read_json(path: Path) -> Any:
    try:
        return read_json_file(path, MAX_RUN_FILE_BYTES, "file")
    except InputFileError as error:
        raise InventoryError(error.file, error.field, error.message) from None


def _polygon_area_m2(vertices: list[dict[str, float]]) -> float:
    """Area of a horizontal polygon (a floor) by the shoelace formula, m2."""
    xs = [float(v["vertex_x_coordinate"]) for v in vertices]
    ys = [float(v["vertex_y_coordinate"]) for v in vertices]
    twice = sum(xs[i] * ys[(i + 1) % len(xs)] - xs[(i + 1) % len(xs)] * ys[i] for i in range(len(xs)))
    return abs(twice) / 2.0


def read_run_design(model_path: Path) -> RunDesign | None:
    """The installed IT power and IT floor area of a run's EnergyPlus model (``model.epJSON``), or None when
    the run folder holds no model (a hand-made summary) or the model has no IT equipment.

    IT power sums ``ElectricEquipment:ITE:AirCooled`` design power (W per unit x units); the floor area
    sums the floors of the zones that hold that equipment (the halls, not their underfloor plenums). Both
    are the site file's figures: the twin builds each hall with them.
    """
    if not model_path.is_file():
        return None
    data = _read_json(model_path)
    try:
        equipment = list(data.get("ElectricEquipment:ITE:AirCooled", {}).values())
        power_w = sum(float(e["watts_per_unit"]) * float(e.get("number_of_units", 1)) for e in equipment)
        halls = {e["zone_or_space_name"] for e in equipment}
        floors = [
            s["vertices"]
            for s in data.get("BuildingSurface:Detailed", {}).values()
            if s.get("surface_type") == "Floor" and s.get("zone_name") in halls
        ]
        area_m2 = sum(_polygon_area_m2(v) for v in floors)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise InventoryError(model_path, "<epjson>", f"not a greendc model ({error!r})") from None
    if power_w <= 0 or area_m2 <= 0:
        return None
    # sqrt(area) squared leaves float noise in the last digits; a micro-m2 is far below what a site file holds.
    return RunDesign(installed_it_power_kw=round(power_w / 1000.0, 6), it_floor_area_m2=round(area_m2, 6))


def read_run_summary(path: Path) -> RunSummary:
    """Read a run's ``summary.json`` (``path`` may be the run folder)."""
    if path.is_dir():
        path = path / "summary.json"
    data = _read_json(path)
    if not isinstance(data, dict):
        raise InventoryError(path, "<root>", "a run summary must be a JSON object")
    for key in ("site", "grid_region"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise InventoryError(path, key, "missing or not a string")
    monthly: list[MonthOfRun] = []
    raw_months = data.get("monthly", [])
    if not isinstance(raw_months, list):
        raise InventoryError(path, "monthly", "must be a list of months")
    seen: set[int] = set()
    for index, month in enumerate(raw_months):
        where = f"monthly[{index}]."
        if not isinstance(month, dict):
            raise InventoryError(path, f"monthly[{index}]", "must be an object")
        number = month.get("month")
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 12 or number in seen:
            raise InventoryError(path, f"{where}month", f"must be a distinct month 1-12 (got {number!r})")
        seen.add(number)
        end_uses = {
            key.removesuffix("_kwh"): (_number(month, key, path, where, optional=True) or 0.0) / 1000.0
            for key in month
            if key.endswith("_kwh") and key not in NOT_END_USES_KWH
        }
        monthly.append(
            MonthOfRun(
                month=number,
                it_mwh=_number(month, "it_kwh", path, where) / 1000.0,
                cooling_mwh=(_number(month, "cooling_kwh", path, where, optional=True) or 0.0) / 1000.0,
                facility_mwh=_number(month, "facility_kwh", path, where) / 1000.0,
                end_uses_mwh=end_uses,
                pue=_ratio(month.get("pue")),
            )
        )
    monthly.sort(key=lambda m: m.month)
    water = _number(data, "water_m3", path, "", optional=True)
    pue = _ratio(data.get("pue"))
    return RunSummary(
        path=path,
        site=data["site"],
        grid_region=data["grid_region"],
        controller=str(data.get("controller", "")),
        weather=str(data.get("weather", "")),
        it_mwh=_number(data, "it_kwh", path, "") / 1000.0,
        cooling_mwh=(_number(data, "cooling_kwh", path, "", optional=True) or 0.0) / 1000.0,
        facility_mwh=_number(data, "facility_kwh", path, "") / 1000.0,
        pue=pue,
        water_m3=water,
        monthly=monthly,
        design=_design_in_summary(data, path) or read_run_design(path.parent / "model.epJSON"),
    )


def _design_in_summary(data: dict[str, Any], path: Path) -> RunDesign | None:
    """The site's installed IT power and IT floor area as a greendc run summary records them (since issue 15);
    ``None`` for a summary without them (hand-made, or written before), which the run's model then gives."""
    power_kw = _number(data, "installed_it_power_kw", path, "", optional=True)
    area_m2 = _number(data, "it_floor_area_m2", path, "", optional=True)
    if not power_kw or not area_m2:
        return None
    return RunDesign(installed_it_power_kw=power_kw, it_floor_area_m2=area_m2)


@dataclass(frozen=True)
class BenchComparison:
    """Baseline and improved controller in one climate of a benchmark, in MWh of facility energy."""

    path: Path
    climate: str
    baseline_controller: str
    improved_controller: str
    baseline_facility_mwh: float
    improved_facility_mwh: float

    @property
    def saved_mwh(self) -> float:
        return self.baseline_facility_mwh - self.improved_facility_mwh


def read_bench_comparison(path: Path, climate: str, baseline: str, improved: str, *, field: str) -> BenchComparison:
    """Pick the two records of a ``greendc bench --json`` list (read as typed records) and compare their
    facility energy."""
    try:
        records = read_bench_records(path)
    except InputFileError as error:
        raise InventoryError(error.file, error.field, error.message) from None

    def pick(controller: str, role: str) -> float:
        matches = [(i, r) for i, r in enumerate(records) if r.climate == climate and r.controller == controller]
        if not matches:
            raise InventoryError(
                path,
                f"{field}.{role}_controller",
                f"no record with climate {climate!r} and controller {controller!r}",
            )
        if len(matches) > 1:
            raise InventoryError(
                path, f"{field}.{role}_controller", f"{len(matches)} records for {climate!r}/{controller!r}"
            )
        index, record = matches[0]
        return _number(record.row(), "facility_kwh", path, f"[{index}].") / 1000.0

    return BenchComparison(
        path=path,
        climate=climate,
        baseline_controller=baseline,
        improved_controller=improved,
        baseline_facility_mwh=pick(baseline, "baseline"),
        improved_facility_mwh=pick(improved, "improved"),
    )
