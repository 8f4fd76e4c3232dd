"""Metered data for measurement and verification: telemetry checked for M&V and summed to hours.

A period's telemetry (the project's schema, :mod:`greendc.telemetry.schema`) must have one interval length
and no missing timestamps: an M&V model that silently bridged a gap would count energy nobody metered.
Gaps and outages are listed as exclusions instead (:mod:`greendc.verification.adjustments`). Energy is
summed to kWh per hour (hours without all their intervals are left out and counted); the independent
variables are hourly means.

The IT load is the independent variable that matters most in a data center, and measured IT power is
itself moved by cooling control: warmer inlet air speeds up server fans. So the model takes a signal the
measure does not move: the servers' utilisation (``<zone>/it_load_fraction``, 0-1, weighted by each zone's
share of IT power) by default; or, with the site file, each hall's IT power normalised to a 20 C inlet with
the site's server curve (``--it-load normalized``: the utilisation that gives the metered power at the metered
inlet temperature, and the power that utilisation draws at 20 C, :func:`normalized_it_power_kw`), which
also counts servers added after the baseline; or a column the user names, which the record then states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from greendc.errors import GreendcError, quoted
from greendc.site.schema import Site
from greendc.site.servers import REFERENCE_INLET_C, it_power_fraction
from greendc.telemetry.schema import ARM_COLUMN, BASELINE, CANDIDATE, TelemetryError, load_telemetry
from greendc.telemetry.sensors import FACILITY, ZONE

ENERGY_COLUMNS = {"facility": FACILITY.facility_power_w.column, "cooling": FACILITY.cooling_power_w.column}
UTILIZATION = "utilization"
NORMALIZED = "normalized"
NORMALIZED_COLUMN = "it_power_at_reference_inlet_kw"
UTILIZATION_COLUMN = ZONE.it_load_fraction.column
#: Weather the baseline model takes (dew point when the telemetry has it), with its unit.
WEATHER_COLUMNS = {
    FACILITY.outdoor_dry_bulb_c.column: "C",
    FACILITY.outdoor_wet_bulb_c.column: "C",
    FACILITY.outdoor_dew_point_c.column: "C",
}


class MeterDataError(GreendcError, ValueError):
    """Metered data verify cannot use; the message names the file and the column."""


class VerificationRefusedError(GreendcError):
    """verify will not state a saving from these data; the message says why."""


@dataclass(frozen=True)
class HourlyData:
    """A period's hours: ``energy_kwh``, the independent variables, and the A/B arm when recorded."""

    frame: pd.DataFrame
    source: str
    it_load_signal: str
    it_load_unit: str
    #: Hours left out because an interval or a value was missing.
    hours_without_data: float
    #: Where the IT-load signal came from, in words, for the record (with any caveat).
    it_load_source: str


def load_hourly(path: str, energy: str, it_load: str | None = None,
                gaps_allowed: tuple[tuple[pd.Timestamp, pd.Timestamp], ...] = (),
                site: Site | None = None) -> HourlyData:
    """Read one period's telemetry, check it for M&V and sum it to hours (see the module docstring).

    A gap in the time axis is refused unless it lies within one of ``gaps_allowed`` (the exclusions'
    start and end).
    """
    try:
        telemetry = load_telemetry(path)
    except TelemetryError as error:
        raise MeterDataError(str(error)) from None
    frame = telemetry.frame.sort_values("time").reset_index(drop=True)
    source = telemetry.source
    if getattr(frame["time"].dt, "tz", None) is not None:
        raise MeterDataError(f"{source}: column 'time' carries a time zone ({frame['time'].dt.tz}); verify takes "
                             "local time without a zone, as the telemetry schema does")
    interval = _check_time_axis(frame, source, gaps_allowed)
    interval_h = interval / pd.Timedelta(hours=1)
    if it_load == NORMALIZED:
        if site is None:
            raise MeterDataError("--it-load normalized needs the site file (--site) for the halls' server curves")
        signal, unit, it_series = NORMALIZED_COLUMN, "kW", normalized_it_power_kw(frame, telemetry.zone_names,
                                                                                    site, source)
        where = "each hall's IT power and inlet temperature, normalised to a 20 C inlet by the site's server curve"
    else:
        signal, unit, it_series, where = _it_load(frame, telemetry.zone_names, it_load, source)
    energy_w = frame[ENERGY_COLUMNS[energy]]
    if not (energy_w.fillna(0) > 0).any():
        raise MeterDataError(f"{source}: column {ENERGY_COLUMNS[energy]!r} reads zero (or nothing) in every interval: "
                             "a dead meter, not a saving")
    columns = {"energy_kwh": energy_w * interval_h / 1000.0, signal: it_series}
    for column in WEATHER_COLUMNS:
        if column in frame:
            columns[column] = frame[column]
    values = pd.DataFrame(columns).set_index(frame["time"])
    sums = values[["energy_kwh"]].resample("1h", label="right", closed="right").sum(min_count=1)
    means = values.drop(columns="energy_kwh").resample("1h", label="right", closed="right").mean()
    counts = values["energy_kwh"].resample("1h", label="right", closed="right").count()
    hourly = pd.concat([sums, means], axis=1)
    if ARM_COLUMN in frame:
        hourly[ARM_COLUMN] = _hourly_arm(frame, source)
    per_hour = round(1.0 / interval_h) if interval_h <= 1 else 1
    complete = (counts >= per_hour) & hourly.drop(columns=[ARM_COLUMN], errors="ignore").notna().all(axis=1)
    return HourlyData(
        frame=hourly[complete],
        source=source,
        it_load_signal=signal,
        it_load_unit=unit,
        hours_without_data=float((~complete).sum()),
        it_load_source=where,
    )


def _check_time_axis(frame: pd.DataFrame, source: str,
                     gaps_allowed: tuple[tuple[pd.Timestamp, pd.Timestamp], ...]) -> pd.Timedelta:
    """One interval length (returned), no missing timestamps, at most an hour per interval."""
    steps = frame["time"].diff().dropna()
    lengths = steps.value_counts()
    if len(lengths) == 0:
        raise MeterDataError(f"{source}: column 'time': at least two timestamps are needed")
    interval = lengths.index[0]  # the most common step
    if interval > pd.Timedelta(hours=1) or pd.Timedelta(hours=1) % interval != pd.Timedelta(0):
        raise MeterDataError(f"{source}: column 'time': intervals of {_minutes(interval)}; verify takes intervals "
                             "that divide an hour (e.g. 5, 15 or 60 min)")
    times = frame["time"]
    excused = _excused(times, steps.index, interval, gaps_allowed)
    longer = steps[(steps > interval) & ~excused]
    if len(longer):
        first = longer.index[0]
        missing = int(longer.iloc[0] / interval) - 1
        if longer.iloc[0] % interval == pd.Timedelta(0):
            raise MeterDataError(
                f"{source}: column 'time': {missing} missing timestamp(s) after {frame['time'].iloc[first - 1]}; "
                "fill the gap or list it as an exclusion (--adjustments)")
    other = steps[(steps != interval) & ~excused]
    if len(other):
        raise MeterDataError(f"{source}: column 'time': intervals of different length ({_minutes(interval)} and "
                             f"{_minutes(other.iloc[0])} at {frame['time'].iloc[other.index[0]]})")
    return interval


def _excused(times: pd.Series, rows: pd.Index, interval: pd.Timedelta,
             gaps_allowed: tuple[tuple[pd.Timestamp, pd.Timestamp], ...]) -> pd.Series:
    """Whether the gap before each row lies within an allowed window (start < missing times <= end)."""
    before, after = times.shift(1).loc[rows], times.loc[rows]
    excused = pd.Series(False, index=rows)
    for start, end in gaps_allowed:
        excused |= (before >= start) & (after - interval <= end)
    return excused


def _minutes(step: pd.Timedelta) -> str:
    return f"{step / pd.Timedelta(minutes=1):g} min"


def _it_load(frame: pd.DataFrame, zones: list[str], it_load: str | None,
             source: str) -> tuple[str, str, pd.Series, str]:
    """The IT-load signal (column, unit, values, where it came from): utilisation, power-weighted over zones,
    or the numeric column the user named (never the energy, the weather or the time)."""
    if it_load in (None, UTILIZATION):
        columns = [ZONE.it_load_fraction.of(zone) for zone in zones]
        present = [c for c in columns if c in frame]
        if len(present) == len(columns):
            weights = np.array([max(frame[ZONE.it_power_w.of(z)].mean(), 1e-9) for z in zones])
            series = (frame[present] * weights).sum(axis=1, min_count=len(present)) / weights.sum()
            return UTILIZATION_COLUMN, "fraction", series, "columns <hall>/" + UTILIZATION_COLUMN
        if it_load == UTILIZATION or present:
            absent = [c for c in columns if c not in frame]
            raise MeterDataError(f"{source}: missing column {quoted(absent[0])}: the IT utilisation of every zone "
                                 "is needed, or name another IT-load column with --it-load")
        raise MeterDataError(
            f"{source}: no '<zone>/{UTILIZATION_COLUMN}' columns: give the servers' utilisation, or name an IT-load "
            "column with --it-load (measured IT power is moved by cooling control, so the record will say so)")
    not_load = {"time", *ENERGY_COLUMNS.values(), *WEATHER_COLUMNS}
    if it_load in not_load:
        raise MeterDataError(f"--it-load: {it_load!r} is the time, an energy being verified or an outdoor "
                             "variable already in the model; name the IT load")
    if it_load not in frame:
        raise MeterDataError(f"{source}: missing column {quoted(it_load)} (named by --it-load)")
    values = pd.to_numeric(frame[it_load], errors="coerce")
    if values.isna().mean() > 0.5:
        raise MeterDataError(f"{source}: column {quoted(it_load)} (named by --it-load) is mostly not numbers")
    where = f"column {it_load}"
    if it_load.rsplit("/", 1)[-1] == FACILITY.it_power_w.column:
        where += (" (measured IT power, which the measure itself moves: warmer inlets speed up server fans, so a "
                  "change in server-fan power the measure causes is counted as neither saving nor loss)")
    if it_load.endswith("_w"):
        return it_load.removesuffix("_w") + "_kw", "kW", values / 1000.0, where
    return it_load, it_load.rsplit("_", 1)[-1] if "_" in it_load else "-", values, where


def normalized_it_power_kw(frame: pd.DataFrame, zones: list[str], site: Site, source: str) -> pd.Series:
    """The halls' IT power at a 20 C inlet (kW): per hall, the utilisation at which the site's server curve
    (:func:`greendc.site.servers.it_power_fraction`) draws the metered IT power at the metered inlet, found by
    bisection (the curve rises with utilisation), then the power that utilisation draws at 20 C."""
    by_name = {zone.name: zone for zone in site.zones}
    curves = site.servers.model()
    total = pd.Series(0.0, index=frame.index)
    for zone in zones:
        if zone not in by_name:
            raise MeterDataError(f"{source}: hall {quoted(zone)} is not in the site file ({_names(by_name)})")
        design_w = by_name[zone].it_design_power_w
        measured = frame[ZONE.it_power_w.of(zone)].to_numpy(float) / design_w
        inlet = frame[ZONE.inlet_temp_c.of(zone)].to_numpy(float)
        low, high = np.zeros(len(frame)), np.ones(len(frame))
        for _ in range(30):
            middle = (low + high) / 2
            below = it_power_fraction(curves, middle, inlet) < measured
            low, high = np.where(below, middle, low), np.where(below, high, middle)
        at_full_load = it_power_fraction(curves, np.ones(len(frame)), inlet)
        over = measured > 1.05 * at_full_load
        if over.any():
            row = int(np.argmax(over))
            raise MeterDataError(
                f"{source}: {ZONE.it_power_w.of(zone)} is {measured[row] / at_full_load[row]:.1f} times what the "
                f"hall's servers draw at full load ({design_w / 1000:,.1f} kW design) at {frame['time'].iloc[row]}; "
                "check the site file's design power or the column's unit")
        reference = it_power_fraction(curves, (low + high) / 2, np.full(len(frame), REFERENCE_INLET_C))
        total += reference * design_w / 1000.0
    return total


def _names(zones: dict) -> str:
    return ", ".join(quoted(name) for name in list(zones)[:5])


def _hourly_arm(frame: pd.DataFrame, source: str) -> pd.Series:
    """The A/B arm of each hour: the arm of all its intervals, or missing for an hour that switched."""
    arms = frame.set_index("time")[ARM_COLUMN].astype("string")
    unknown = set(arms.dropna().unique()) - {CANDIDATE, BASELINE}
    if unknown:
        raise MeterDataError(f"{source}: column {ARM_COLUMN!r} holds {quoted(sorted(unknown)[0])}; "
                             "it takes 'candidate' or 'baseline'")
    candidate = (arms == CANDIDATE).astype(float).resample("1h", label="right", closed="right").mean()
    return candidate.map(lambda share: CANDIDATE if share == 1 else BASELINE if share == 0 else None)
