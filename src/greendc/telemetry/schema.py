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
``<zone>/it_load_fraction``       -       servers' CPU utilisation (the IT load fraction), 0-1 (optional)
================================  ======  ===========================================================

Any other column (cooling power by component, dew points, water) is kept and ignored by the checks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from greendc.errors import GreendcError, quoted
from greendc.files import InputFileError, checked_input_file, expanded_path, shown_path
from greendc.telemetry.sensors import FACILITY, PHYSICAL_RANGE, ZONE, Validation

#: Under an A/B schedule (``greendc.control.ab_schedule``), which arm was in control over each row's interval:
#: a text column holding ``CANDIDATE`` or ``BASELINE``, written by the twin's runs and the live agent alike and
#: read by ``greendc verify --ab`` and ``greendc explain``.
ARM_COLUMN = "ab_arm"
Arm = Literal["candidate", "baseline"]
CANDIDATE: Arm = "candidate"
BASELINE: Arm = "baseline"

# The columns validation requires and checks, from the sensor registry; their physically plausible ranges
# (PHYSICAL_RANGE, values outside are sensor faults or unit mistakes) come from it too.
FACILITY_COLUMNS = tuple(s.column for s in FACILITY if s.validation is Validation.REQUIRED)
ZONE_COLUMNS = tuple(s.column for s in ZONE if s.validation is Validation.REQUIRED)
# Optional ones are checked when present; a zone's under its own name (``<zone>/it_load_fraction``).
OPTIONAL_COLUMNS = tuple(s.column for s in FACILITY if s.validation is Validation.IF_PRESENT)
OPTIONAL_ZONE_COLUMNS = tuple(s.column for s in ZONE if s.validation is Validation.IF_PRESENT)


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
    return [column.rsplit("/", 1)[0] for column in columns if column.endswith(ZONE.inlet_temp_c.of(""))]


def _kind(column: str) -> str:
    return column.rsplit("/", 1)[-1]


def _unit_hint(column: str, values: pd.Series) -> str:
    median = float(values.median())
    if column.endswith("_c") and 240 < median < 340:
        return " (values look like kelvin; give degrees Celsius)"
    if column.endswith("_c") and 50 < median < 120:
        return " (values look like Fahrenheit; give degrees Celsius)"
    if column.endswith("_w") and 0 < median < 1000 and _kind(column) != FACILITY.cooling_power_w.column:
        return " (values look like kW; give watts)"
    if column.endswith("_fraction") and 1.5 < median <= 100.5:
        return " (values look like percent; give a fraction, 0-1)"
    return ""


def validate_telemetry(frame: pd.DataFrame, source: str = "<telemetry>") -> Telemetry:
    """Check columns, units, ranges and the time axis; raise :class:`TelemetryError` naming the column."""
    source = shown_path(source)
    _check_column_names(frame, source)
    if "time" not in frame.columns:
        raise TelemetryError(f"{source}: missing column 'time'")
    zones = zone_names_of(list(frame.columns))
    if not zones:
        raise TelemetryError(f"{source}: no '<zone>/inlet_temp_c' column: at least one IT zone is needed")
    required = list(FACILITY_COLUMNS) + [f"{zone}/{name}" for zone in zones for name in ZONE_COLUMNS]
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise TelemetryError(f"{source}: missing column(s) {_listed(missing)}")
    frame = frame.copy()
    frame["time"] = _time_axis(frame["time"], source)
    if frame["time"].duplicated().any():
        first = frame.loc[frame["time"].duplicated(), "time"].iloc[0]
        raise TelemetryError(f"{source}: duplicate timestamp {first} in column 'time'")
    if not frame["time"].is_monotonic_increasing:
        frame = frame.sort_values("time").reset_index(drop=True)
    if len(frame) < 2:
        raise TelemetryError(f"{source}: needs at least two rows, has {len(frame)}")
    # Distinct, present times: at least one step, every step positive.
    interval = frame["time"].diff().dropna().mode().iloc[0]
    optional = [*OPTIONAL_COLUMNS, *[f"{zone}/{name}" for zone in zones for name in OPTIONAL_ZONE_COLUMNS]]
    checked = required + [c for c in optional if c in frame.columns]
    for column in checked:
        if column == "time":
            continue
        try:
            # As floats: nullable integer or boolean columns would carry pd.NA into the comparisons below.
            values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        except (TypeError, ValueError, OverflowError):  # cells holding lists, mappings or huge integers
            raise TelemetryError(f"{source}: column {quoted(column)} holds values that are not numbers") from None
        if values.isna().all():
            raise TelemetryError(f"{source}: column {quoted(column)} holds no numbers")
        low, high = PHYSICAL_RANGE[_kind(column)]
        valid = values.dropna()
        outside = (valid < low) | (valid > high)
        if outside.mean() > 0.5:
            raise TelemetryError(f"{source}: column {quoted(column)} is mostly outside {low}-{high}"
                                 f"{_unit_hint(column, valid)}")
        frame[column] = values.where((values >= low) & (values <= high))
    return Telemetry(frame=frame, zone_names=zones, interval_h=interval / pd.Timedelta(hours=1), source=source)


#: A year at one-minute resolution of the two-hall example with the twin's 50 columns is some 330 MB of CSV
#: (150 MB of Parquet); 1 GiB leaves room for a site of six halls and refuses, before it is read, a file
#: pandas would need minutes and many gigabytes for. Larger sites split the year into files (each is read as
#: its own episode).
MAX_TELEMETRY_FILE_BYTES = 1024 * 1024 * 1024
#: 100 million cells are 800 MB as floats: a Parquet file's own count is checked against it before reading,
#: since its compression hides how large it becomes in memory.
MAX_TELEMETRY_CELLS = 100_000_000
#: Columns in one file: 6 facility columns and some 17 per IT zone (the twin's); 10,000 is far more than a
#: real site has, and a CSV header longer than that is refused before pandas builds a frame of it.
MAX_TELEMETRY_COLUMNS = 10_000
_MAX_CSV_HEADER_BYTES = 4 * 1024 * 1024
_MAX_NAMES_LISTED = 5


def _listed(names: list[str]) -> str:
    """Column names for a message: the first few, each cut, and how many more."""
    shown = ", ".join(str(name) if len(str(name)) <= 80 and str(name).isprintable() else quoted(name, 80)
                      for name in names[:_MAX_NAMES_LISTED])
    more = len(names) - _MAX_NAMES_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _check_column_names(frame: pd.DataFrame, source: str) -> None:
    """Column names must be text and appear once (a repeated name would make one column a frame of two)."""
    not_text = [name for name in frame.columns if not isinstance(name, str)]
    if not_text:
        raise TelemetryError(f"{source}: column names must be text, not {quoted(not_text[0])}")
    repeated = frame.columns[frame.columns.duplicated()]
    if len(repeated):
        raise TelemetryError(f"{source}: column {quoted(repeated[0])} appears more than once")


def _time_axis(column: pd.Series, source: str) -> pd.Series:
    """The ``time`` column as timestamps, each present: numbers (nanoseconds to pandas) and blanks refused."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise TelemetryError(f"{source}: column 'time' holds numbers; give timestamps such as 2023-07-01 00:15")
    try:
        with warnings.catch_warnings():  # "could not infer format" is advice for programmers, not for a user
            warnings.simplefilter("ignore", UserWarning)
            times = pd.to_datetime(column)
    except (ValueError, TypeError, OverflowError) as error:
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise TelemetryError(f"{source}: column 'time' is not a timestamp: {quoted(reason)}") from None
    if not pd.api.types.is_datetime64_any_dtype(times):
        raise TelemetryError(f"{source}: column 'time' is not a timestamp (mixed time zones?)")
    missing = times.isna().to_numpy()
    if missing.any():
        row = int(missing.argmax())
        raise TelemetryError(f"{source}: column 'time' row {row + 1} is empty or not a time "
                             f"({quoted(column.iloc[row])})")
    return times


def load_telemetry(path: Path | str) -> Telemetry:
    """Read telemetry from Parquet or CSV: one file, or a folder.

    In a folder, files named ``telemetry*.parquet`` or ``telemetry*.csv`` are read from all subfolders
    (as ``greendc simulate`` and ``greendc explore`` write them); without such files, every Parquet and
    CSV file directly in the folder is read. Each file is checked before it is read: a regular file of
    at most :data:`MAX_TELEMETRY_FILE_BYTES` (a device such as ``/dev/zero`` would never end).
    """
    path = Path(path)
    files = _telemetry_files(path)
    validated = [validate_telemetry(_read_telemetry_file(file), str(file)) for file in files]
    zones = validated[0].zone_names
    for file, telemetry in zip(files, validated, strict=True):
        if telemetry.zone_names != zones:
            raise TelemetryError(f"{shown_path(file)}: zones {_listed(telemetry.zone_names)} differ from "
                                 f"{_listed(zones)} in {shown_path(files[0])}")
    # Files may cover the same calendar (one year per climate): each is its own episode, so that time
    # steps are never paired across files.
    combined = pd.concat([t.frame.assign(episode=i) for i, t in enumerate(validated)], ignore_index=True)
    return Telemetry(frame=combined, zone_names=zones, interval_h=validated[0].interval_h, source=shown_path(path))


def _telemetry_files(path: Path) -> list[Path]:
    """The file ``path`` names, or the telemetry files of the folder it names (see :func:`load_telemetry`)."""
    if "\0" in str(path):
        raise TelemetryError(f"{shown_path(path)}: a telemetry path cannot contain a NUL character")
    try:
        path = expanded_path(str(path), "telemetry")
    except InputFileError as error:
        raise TelemetryError(f"{error.file}: {error.message}") from None
    try:
        if not path.is_dir():
            return [path]
        files = sorted([*path.rglob("telemetry*.parquet"), *path.rglob("telemetry*.csv")])
        files = files or sorted([*path.glob("*.parquet"), *path.glob("*.csv")])
    except OSError as error:  # a name too long, a folder that cannot be listed
        reason = getattr(error, "strerror", None) or str(error) or error.__class__.__name__
        raise TelemetryError(f"{shown_path(path)}: cannot open the telemetry ({reason})") from None
    if not files:
        raise TelemetryError(f"{shown_path(path)}: no .parquet or .csv telemetry files")
    return files


def _read_telemetry_file(file: Path) -> pd.DataFrame:
    """One telemetry file as a frame, its size (and, for Parquet, its cell count) checked before reading."""
    try:
        file = checked_input_file(file, MAX_TELEMETRY_FILE_BYTES, "telemetry file")
    except InputFileError as error:
        message = "telemetry not found" if error.message.endswith("not found") else error.message
        raise TelemetryError(f"{error.file}: {message}") from None
    try:
        if file.suffix == ".parquet":
            import pyarrow.parquet as pq

            metadata = pq.read_metadata(file)  # the footer only, and the file closed again
            cells = metadata.num_rows * metadata.num_columns
            if cells > MAX_TELEMETRY_CELLS or metadata.num_columns > MAX_TELEMETRY_COLUMNS:
                raise TelemetryError(f"{shown_path(file)}: {metadata.num_rows:,} rows of {metadata.num_columns:,} "
                                     f"columns, more than the {MAX_TELEMETRY_CELLS:,} values (or "
                                     f"{MAX_TELEMETRY_COLUMNS:,} columns) a telemetry file may hold")
            return pd.read_parquet(file)
        _check_csv_header(file)
        return pd.read_csv(file)
    except TelemetryError:
        raise
    except Exception as error:  # pyarrow and pandas raise many kinds for unreadable files
        reason = str(error).splitlines()[0] if str(error).strip() else error.__class__.__name__
        raise TelemetryError(f"{shown_path(file)}: cannot read telemetry: {quoted(reason)}") from None


def _check_csv_header(file: Path) -> None:
    """A CSV's first line must end within a few MiB and name at most :data:`MAX_TELEMETRY_COLUMNS` columns."""
    with file.open("rb") as stream:
        head = stream.read(_MAX_CSV_HEADER_BYTES)
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) == _MAX_CSV_HEADER_BYTES:
        raise TelemetryError(f"{shown_path(file)}: the first line is longer than "
                             f"{_MAX_CSV_HEADER_BYTES // 2**20} MiB; it should name the columns")
    columns = line.count(b",") + 1
    if columns > MAX_TELEMETRY_COLUMNS:
        raise TelemetryError(f"{shown_path(file)}: {columns:,} columns, more than the {MAX_TELEMETRY_COLUMNS:,} a "
                             "telemetry file may have")
