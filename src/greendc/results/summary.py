"""Annual and monthly figures of a run, computed from its per-timestep telemetry.

PUE follows ISO/IEC 30134-2: total facility energy divided by IT equipment energy, where IT energy is
measured at the IT equipment's input (servers' CPU and fans, after the UPS). Inlet conditions are
judged against the ASHRAE TC 9.9 recommended envelope for classes A1-A4 as the 2011 thermal-guidelines
white paper gives it: 18-27 C dry-bulb, dew point at most 15 C and relative humidity at most 60 %, and
against the A1 allowable maximum of 32 C. (The fifth edition of the Thermal Guidelines, 2021, made the
upper humidity limit depend on the room's gaseous pollutants; these counts keep the fixed 2011 limits.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from greendc.results.records import PeriodSummary
from greendc.telemetry.sensors import ZONE

RECOMMENDED_MAX_C = 27.0
RECOMMENDED_MIN_C = 18.0
ALLOWABLE_A1_MAX_C = 32.0
RECOMMENDED_MAX_DEW_POINT_C = 15.0
RECOMMENDED_MAX_RELATIVE_HUMIDITY_PCT = 60.0

#: End-use groups of cooling electricity: name -> telemetry column suffixes.
COOLING_END_USES: dict[str, tuple[str, ...]] = {
    "fans": ("supply_fan_power_w",),
    "dx_coils": ("dx_coil_power_w",),
    "chiller": ("chiller_power_w",),
    "tower": ("tower_fan_power_w", "tower_basin_heater_power_w"),
    "pumps": ("chilled_water_pump_power_w", "condenser_pump_power_w"),
    "evaporative": ("direct_evaporative_power_w", "indirect_evaporative_power_w"),
}


def _columns_ending(frame: pd.DataFrame, suffixes: tuple[str, ...]) -> list[str]:
    return [c for c in frame.columns if c.split("/")[-1] in suffixes]


def _zone_columns(frame: pd.DataFrame, zone_names: list[str], name: str) -> list[str]:
    return [f"{zone}/{name}" for zone in zone_names]


def energy_kwh(power_w: pd.Series | pd.DataFrame, timestep_h: float) -> float:
    """Energy in kWh of a power series in W sampled once per timestep."""
    return float(np.asarray(power_w, dtype=float).sum() * timestep_h / 1000.0)


def _present(frame: pd.DataFrame, zone_names: list[str], column: str) -> list[str]:
    return [name for name in (f"{zone}/{column}" for zone in zone_names) if name in frame]


def _energy_figures(frame: pd.DataFrame, zone_names: list[str], timestep_h: float) -> dict[str, float]:
    it_kwh = energy_kwh(frame["it_power_w"], timestep_h)
    cooling_kwh = energy_kwh(frame["cooling_power_w"], timestep_h)
    facility_kwh = energy_kwh(frame["facility_power_w"], timestep_h)
    figures: dict[str, float] = {"it_kwh": it_kwh, "cooling_kwh": cooling_kwh, "facility_kwh": facility_kwh}
    for end_use, suffixes in COOLING_END_USES.items():
        figures[f"{end_use}_kwh"] = energy_kwh(frame[_columns_ending(frame, suffixes)].sum(axis=1), timestep_h)
    # Metered telemetry (a live agent's) may lack the UPS and server-fan columns the twin records: their
    # energy then stays in "other" rather than being guessed.
    figures["ups_losses_kwh"] = energy_kwh(frame[_present(frame, zone_names, "ups_power_w")].sum(axis=1), timestep_h)
    figures["server_fans_kwh"] = energy_kwh(
        frame[_present(frame, zone_names, "it_fan_power_w")].sum(axis=1), timestep_h)
    figures["other_kwh"] = facility_kwh - it_kwh - cooling_kwh - figures["ups_losses_kwh"]
    figures["pue"] = facility_kwh / it_kwh if it_kwh > 0 else float("nan")
    water_columns = [c for c in frame.columns if c.endswith("_water_m3")]
    figures["water_m3"] = float(frame[water_columns].to_numpy().sum()) if water_columns else 0.0
    return figures


def envelope_flags(hottest: pd.Series, coolest: pd.Series, humid: pd.Series) -> pd.DataFrame:
    """Per timestep, which limit of the ASHRAE envelope it breaks (columns named as the step counts)."""
    return pd.DataFrame({
        "steps_above_27c": hottest > RECOMMENDED_MAX_C,
        "steps_above_32c": hottest > ALLOWABLE_A1_MAX_C,
        "steps_below_18c": coolest < RECOMMENDED_MIN_C,
        "steps_humid": humid.astype(bool),
    })


def _inlet_counts(hottest: pd.Series, coolest: pd.Series, humid: pd.Series) -> dict[str, int]:
    """Timesteps outside the ASHRAE envelope, judged on the hottest, coolest and most humid inlet of each step."""
    return {name: int(count) for name, count in envelope_flags(hottest, coolest, humid).sum().items()}


def inlet_extremes(telemetry: pd.DataFrame, zone_names: list[str]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per timestep: the hottest and the coolest ITE inlet (C), and whether any inlet is humid.

    Humid means outside the recommended envelope's moisture limits: dew point above 15 C or relative
    humidity above 60 %. Every count of steps outside the envelope (run, month, hour) starts from these.
    """
    inlet = telemetry[_zone_columns(telemetry, zone_names, ZONE.inlet_temp_c.column)]
    dew = telemetry[_zone_columns(telemetry, zone_names, ZONE.inlet_dew_point_c.column)]
    humidity = telemetry[_zone_columns(telemetry, zone_names, ZONE.inlet_relative_humidity_pct.column)]
    humid = (dew.max(axis=1) > RECOMMENDED_MAX_DEW_POINT_C) | (
        humidity.max(axis=1) > RECOMMENDED_MAX_RELATIVE_HUMIDITY_PCT
    )
    return inlet.max(axis=1), inlet.min(axis=1), humid


def summarize(telemetry: pd.DataFrame, zone_names: list[str], timestep_h: float) -> PeriodSummary:
    """Annual (run-period) summary: energy by end use, PUE, water, and inlet conditions.

    ``monthly`` repeats the energy figures, the hottest inlet and the step counts outside the envelope per
    calendar month, so that monthly results (the hindsight oracle's) can be summed into a year.
    """
    inlet = telemetry[_zone_columns(telemetry, zone_names, ZONE.inlet_temp_c.column)]
    dew = telemetry[_zone_columns(telemetry, zone_names, ZONE.inlet_dew_point_c.column)]
    hottest, coolest, humid = inlet_extremes(telemetry, zone_names)
    summary: dict[str, Any] = _energy_figures(telemetry, zone_names, timestep_h)
    summary.update(
        steps=len(telemetry),
        timestep_h=timestep_h,
        inlet_max_c=float(hottest.max()),
        inlet_mean_c=float(inlet.to_numpy().mean()),
        inlet_min_c=float(coolest.min()),
        inlet_p99_c=float(np.percentile(hottest, 99)),
        inlet_dew_point_max_c=float(dew.to_numpy().max()),
        inlet_dew_point_mean_c=float(dew.to_numpy().mean()),
        **_inlet_counts(hottest, coolest, humid),
    )
    # Telemetry is stamped at the end of each timestep; the month is that of the step's start.
    months = (telemetry["time"] - pd.Timedelta(hours=timestep_h)).dt.month
    summary["monthly"] = [
        {"month": int(month), **_energy_figures(group, zone_names, timestep_h),
         "inlet_max_c": float(hottest.loc[group.index].max()),
         **_inlet_counts(hottest.loc[group.index], coolest.loc[group.index], humid.loc[group.index])}
        for month, group in telemetry.groupby(months.to_numpy())
    ]
    return PeriodSummary.model_validate(summary)
