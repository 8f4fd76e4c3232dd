"""The telemetry column schema: the same for the twin's output and for a user's own BMS/DCIM data.

One row per control interval, stamped at the interval's end. Facility-wide columns:

================================  ======  ===========================================================
column                            unit    meaning
================================  ======  ===========================================================
``time``                          -       end of the interval (timezone-naive local time)
``outdoor_dry_bulb_c``            C       outdoor air dry-bulb temperature
``outdoor_wet_bulb_c``            C       outdoor air wet-bulb temperature
``outdoor_relative_humidity_pct`` %       outdoor relative humidity
``it_power_w``                    W       IT electric power at the IT equipment input
``cooling_power_w``               W       cooling electric power (fans, coils, chiller, tower, pumps...)
``facility_power_w``              W       total facility electric power
``chilled_water_setpoint_c``      C       chilled-water supply setpoint (optional; plants only)
================================  ======  ===========================================================

Per IT zone, with the zone name and a slash in front (``West Hall/inlet_temp_c``):

================================  ======  ===========================================================
``<zone>/it_power_w``             W       IT electric power of the zone
``<zone>/inlet_temp_c``           C       hottest server inlet (cold-aisle) temperature of the zone
``<zone>/zone_air_temp_c``        C       zone (return) air temperature
``<zone>/supply_air_temp_c``      C       supply-air temperature of the zone's air handler
``<zone>/supply_air_setpoint_c``  C       supply-air temperature setpoint in force
``<zone>/zone_cooling_setpoint_c`` C      zone cooling setpoint in force
================================  ======  ===========================================================

Any other column (cooling power by component, dew points, water) is kept and ignored by the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from greendc.errors import GreendcError

FACILITY_COLUMNS = ("outdoor_dry_bulb_c", "outdoor_wet_bulb_c", "outdoor_relative_humidity_pct", "it_power_w",
                    "cooling_power_w", "facility_power_w")
ZONE_COLUMNS = ("it_power_w", "inlet_temp_c", "zone_air_temp_c", "supply_air_temp_c", "supply_air_setpoint_c",
                "zone_cooling_setpoint_c")
OPTIONAL_COLUMNS = ("chilled_water_setpoint_c",)

#: Physically plausible ranges; values outside are sensor faults or unit mistakes.
PHYSICAL_RANGE: dict[str, tuple[float, float]] = {
    "outdoor_dry_bulb_c": (-60.0, 60.0),
    "outdoor_wet_bulb_c": (-60.0, 45.0),
    "outdoor_relative_humidity_pct": (0.0, 100.5),
    "it_power_w": (0.0, 1e9),
    "cooling_power_w": (0.0, 1e9),
    "facility_power_w": (0.0, 1e9),
    "inlet_temp_c": (0.0, 50.0),
    "zone_air_temp_c": (0.0, 60.0),
    "supply_air_temp_c": (0.0, 45.0),
    "supply_air_setpoint_c": (0.0, 45.0),
    "zone_cooling_setpoint_c": (0.0, 45.0),
    "chilled_water_setpoint_c": (0.0, 30.0),
}


class TelemetryError(GreendcError, ValueError):
    """Telemetry that does not follow the schema; the message names the file and column."""


@dataclass(frozen=True)
class Telemetry:
    """Validated telemetry and the facts derived from it."""

    frame: pd.DataFrame
    zone_names: list[str]
    interval_h: float
    source: str

    @property
    def start(self) -> pd.Timestamp:
        return self.frame["time"].iloc[0]

    @property
    def end(self) -> pd.Timestamp:
        return self.frame["time"].iloc[-1]


def zone_names_of(columns: list[str]) -> list[str]:
    """Zone names in column order, taken from ``<zone>/inlet_temp_c`` columns."""
    return [column.rsplit("/", 1)[0] for column in columns if column.endswith("/inlet_temp_c")]


def _kind(column: str) -> str:
    return column.rsplit("/", 1)[-1]


def _unit_hint(column: str, values: pd.Series) -> str:
    median = float(values.median())
    if column.endswith("_c") and 240 < median < 340:
        return " (values look like kelvin; give degrees Celsius)"
    if column.endswith("_c") and 50 < median < 120:
        return " (values look like Fahrenheit; give degrees Celsius)"
    if column.endswith("_w") and 0 < median < 1000 and _kind(column) != "cooling_power_w":
        return " (values look like kW; give watts)"
    return ""


def validate_telemetry(frame: pd.DataFrame, source: str = "<telemetry>") -> Telemetry:
    """Check columns, units, ranges and the time axis; raise :class:`TelemetryError` naming the column."""
    if "time" not in frame.columns:
        raise TelemetryError(f"{source}: missing column 'time'")
    zones = zone_names_of(list(frame.columns))
    if not zones:
        raise TelemetryError(f"{source}: no '<zone>/inlet_temp_c' column: at least one IT zone is needed")
    required = list(FACILITY_COLUMNS) + [f"{zone}/{name}" for zone in zones for name in ZONE_COLUMNS]
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise TelemetryError(f"{source}: missing column(s) {', '.join(missing)}")
    frame = frame.copy()
    try:
        frame["time"] = pd.to_datetime(frame["time"])
    except (ValueError, TypeError) as error:
        raise TelemetryError(f"{source}: column 'time' is not a timestamp: {error}") from error
    if frame["time"].duplicated().any():
        first = frame.loc[frame["time"].duplicated(), "time"].iloc[0]
        raise TelemetryError(f"{source}: duplicate timestamp {first} in column 'time'")
    if not frame["time"].is_monotonic_increasing:
        frame = frame.sort_values("time").reset_index(drop=True)
    if len(frame) < 2:
        raise TelemetryError(f"{source}: needs at least two rows, has {len(frame)}")
    steps = frame["time"].diff().dropna()
    interval = steps.mode().iloc[0]
    checked = required + [c for c in OPTIONAL_COLUMNS if c in frame.columns]
    for column in checked:
        if column == "time":
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().all():
            raise TelemetryError(f"{source}: column {column!r} holds no numbers")
        low, high = PHYSICAL_RANGE[_kind(column)]
        valid = values.dropna()
        outside = (valid < low) | (valid > high)
        if outside.mean() > 0.5:
            raise TelemetryError(f"{source}: column {column!r} is mostly outside {low}-{high}"
                                 f"{_unit_hint(column, valid)}")
        frame[column] = values.where((values >= low) & (values <= high))
    return Telemetry(frame=frame, zone_names=zones, interval_h=interval / pd.Timedelta(hours=1), source=source)


def load_telemetry(path: Path | str) -> Telemetry:
    """Read telemetry from Parquet or CSV: one file, or a folder.

    In a folder, files named ``telemetry*.parquet`` or ``telemetry*.csv`` are read from all subfolders
    (as ``greendc simulate`` and ``greendc explore`` write them); without such files, every Parquet and
    CSV file directly in the folder is read.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted([*path.rglob("telemetry*.parquet"), *path.rglob("telemetry*.csv")])
        files = files or sorted([*path.glob("*.parquet"), *path.glob("*.csv")])
        if not files:
            raise TelemetryError(f"{path}: no .parquet or .csv telemetry files")
    elif path.is_file():
        files = [path]
    else:
        raise TelemetryError(f"{path}: telemetry not found")
    validated = []
    for file in files:
        try:
            frame = pd.read_parquet(file) if file.suffix == ".parquet" else pd.read_csv(file)
        except Exception as error:  # pyarrow and pandas raise many kinds for unreadable files
            raise TelemetryError(f"{file}: cannot read telemetry: {error}") from error
        validated.append(validate_telemetry(frame, str(file)))
    zones = validated[0].zone_names
    for file, telemetry in zip(files, validated, strict=True):
        if telemetry.zone_names != zones:
            raise TelemetryError(f"{file}: zones {telemetry.zone_names} differ from {zones} in {files[0]}")
    # Files may cover the same calendar (one year per climate): each is its own episode, so that time
    # steps are never paired across files.
    combined = pd.concat([t.frame.assign(episode=i) for i, t in enumerate(validated)], ignore_index=True)
    return Telemetry(frame=combined, zone_names=zones, interval_h=validated[0].interval_h, source=str(path))
