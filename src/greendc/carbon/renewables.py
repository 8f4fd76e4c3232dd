"""On-site PV modelled with pvlib, renewable share, ISO/IEC 30134-3 REF and year-over-year changes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from greendc.carbon.errors import InventoryError
from greendc.carbon.inventory import PVArray
from greendc.errors import QUOTE_LIMIT_CHARS, plain_text, quoted
from greendc.site.weather import SHIPPED_WEATHER, WeatherError, read_weather
from greendc.site.weather import resolve_weather as resolve_site_weather

_SHIPPED_FILE_NAMES: dict[str, str] = {file.lower(): name for name, file in SHIPPED_WEATHER.items()}


def resolve_weather(name_or_path: str, base_dir: Path, *, file: object, field: str) -> Path:
    """The EPW file of a short weather name (``chicago``, ``golden``...) or a path relative to ``base_dir``.

    The site's resolver (:func:`greendc.site.weather.resolve_weather`) does the work; a run's summary names
    its weather by the shipped file's name, which stands here for its short name. A weather that cannot be
    found becomes an ``InventoryError`` naming the inventory and the field.
    """
    name = _SHIPPED_FILE_NAMES.get(name_or_path.strip().lower(), name_or_path)
    try:
        return resolve_site_weather(name, relative_to=base_dir)
    except WeatherError as error:
        message = getattr(error, "message", None) or str(error)
        raise InventoryError(file, field, f"{quoted(name_or_path)}: {message}") from None


@dataclass(frozen=True)
class PVResult:
    """Modelled AC generation of a PV array, MWh per calendar month (index 0 = January)."""

    weather_file: str
    monthly_mwh: tuple[float, ...]
    capacity_kw_dc: float

    @property
    def annual_mwh(self) -> float:
        return float(sum(self.monthly_mwh))

    @property
    def specific_yield_kwh_per_kwp(self) -> float:
        return self.annual_mwh * 1000.0 / self.capacity_kw_dc


@lru_cache(maxsize=16)
def _read_epw(path: str):
    from pvlib.iotools import read_epw

    # The site's reader checks the file first (size, records, numeric fields within the EPW limits), so that
    # pvlib only ever sees a valid EPW; a TMY mixes years, and pinning one keeps solar position's index monotonic.
    read_weather(Path(path))
    data, meta = read_epw(path, coerce_year=2021)
    return data, meta


def model_pv(array: PVArray, epw_path: Path, *, file: object = None, field: str = "pv_model") -> PVResult:
    """Hourly PVWatts model (pvlib) of a fixed array over one typical year, summed to months.

    Plane-of-array irradiance by the Hay-Davies transposition from the EPW's GHI, DNI and DHI at the
    middle of each hour (EPW values are hour-ending averages), SAPM open-rack cell temperature, PVWatts
    DC with a linear temperature coefficient, PVWatts system losses and the PVWatts inverter with
    clipping at ``capacity_kw_dc / dc_ac_ratio``.
    """
    import pandas as pd
    from pvlib import inverter, irradiance, location, pvsystem, temperature

    try:
        data, meta = _read_epw(str(epw_path))
    except WeatherError as error:
        raise InventoryError(epw_path, "<epw>", f"not a usable EPW weather file ({error})") from None
    except Exception as error:  # pvlib's own reader, on a file the check let through
        raise InventoryError(epw_path, "<epw>", f"cannot read the EPW weather file "
                                                f"({plain_text(str(error))[:QUOTE_LIMIT_CHARS]})") from None
    # The timestamps carry their own UTC offset, so the Location needs no time zone of its own.
    site = location.Location(meta["latitude"], meta["longitude"], altitude=meta["altitude"])
    times = data.index + pd.Timedelta(minutes=30)
    solar = site.get_solarposition(times)
    dni_extra = irradiance.get_extra_radiation(times)
    poa = irradiance.get_total_irradiance(
        surface_tilt=array.tilt_deg,
        surface_azimuth=array.azimuth_deg,
        solar_zenith=solar["apparent_zenith"].to_numpy(),
        solar_azimuth=solar["azimuth"].to_numpy(),
        dni=data["dni"].to_numpy(),
        ghi=data["ghi"].to_numpy(),
        dhi=data["dhi"].to_numpy(),
        dni_extra=dni_extra.to_numpy(),
        model="haydavies",
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float), nan=0.0).clip(min=0.0)
    params = temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
    cell_c = temperature.sapm_cell(poa_global, data["temp_air"].to_numpy(), data["wind_speed"].to_numpy(), **params)
    pdc0_w = array.capacity_kw_dc * 1000.0
    dc_w = pvsystem.pvwatts_dc(poa_global, cell_c, pdc0_w, array.temperature_coefficient_per_c)
    dc_w = np.asarray(dc_w, dtype=float) * (1.0 - array.losses_percent / 100.0)
    ac_w = inverter.pvwatts(dc_w, pdc0_w / array.dc_ac_ratio, eta_inv_nom=array.inverter_efficiency)
    ac_w = np.nan_to_num(np.asarray(ac_w, dtype=float), nan=0.0).clip(min=0.0)
    months = data.index.month.to_numpy()
    # Hourly W summed over the hours of a month is Wh; / 1e6 gives MWh.
    monthly = tuple(float(ac_w[months == m].sum() / 1e6) for m in range(1, 13))
    return PVResult(weather_file=epw_path.name, monthly_mwh=monthly, capacity_kw_dc=array.capacity_kw_dc)


def renewable_mwh(onsite_consumed_mwh: float, procured_renewable_mwh: float) -> float:
    """Renewable electricity used, MWh: on-site generation consumed plus renewable certificates and PPAs
    claimed (ISO/IEC 30134-3: renewable energy from on-site sources and through contractual instruments)."""
    return onsite_consumed_mwh + procured_renewable_mwh


def renewable_share(renewable_mwh: float, electricity_mwh: float) -> float | None:
    """Renewable electricity as a fraction (0-1) of electricity consumed; None when nothing was consumed."""
    if electricity_mwh <= 0:
        return None
    return renewable_mwh / electricity_mwh


def renewable_energy_factor(renewable_mwh: float, total_energy_mwh: float) -> float | None:
    """ISO/IEC 30134-3 REF = renewable energy used by the data center / total data center energy (0-1).

    Renewable energy counts on-site generation consumed and renewable energy contracted through
    certificates or PPAs; here total energy is the site's electricity (no other fuels are inventoried).
    """
    return renewable_share(renewable_mwh, total_energy_mwh)


@dataclass(frozen=True)
class YearOverYear:
    """A figure this year against last year: change in its own unit (x100 = percentage points for shares)
    and in %."""

    current: float
    previous: float
    change: float
    change_percent: float | None


def year_over_year(current: float, previous: float) -> YearOverYear:
    """Absolute change (``current - previous``; for shares, x100 gives percentage points) and relative change
    in percent (``(current / previous - 1) * 100``, None when last year was zero)."""
    change_percent = (current / previous - 1.0) * 100.0 if previous > 0 else None
    return YearOverYear(current=current, previous=previous, change=current - previous, change_percent=change_percent)
