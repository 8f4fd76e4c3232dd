"""Data-center key performance indicators (ISO/IEC 30134 series) and intensities (GRI 302-3, 305-4).

Each function returns None when its denominator is missing or zero, so a KPI the inventory cannot
support is reported as null rather than as a made-up number.
"""

from __future__ import annotations


def pue(facility_energy_mwh: float, it_energy_mwh: float | None) -> float | None:
    """ISO/IEC 30134-2 Power Usage Effectiveness = total data-center energy / IT equipment energy."""
    if it_energy_mwh is None or it_energy_mwh <= 0:
        return None
    return facility_energy_mwh / it_energy_mwh


def cue_kgco2_per_kwh(emissions_tco2: float, it_energy_mwh: float | None) -> float | None:
    """ISO/IEC 30134-8 Carbon Usage Effectiveness = CO2 from data-center energy / IT energy, in kgCO2/kWh.

    tCO2 / MWh equals kgCO2 / kWh, so no conversion factor appears.
    """
    if it_energy_mwh is None or it_energy_mwh <= 0:
        return None
    return emissions_tco2 / it_energy_mwh


def wue_l_per_kwh(water_m3: float | None, it_energy_mwh: float | None) -> float | None:
    """ISO/IEC 30134-9 Water Usage Effectiveness = site water use (L) / IT energy (kWh).

    m3 x 1000 = L and MWh x 1000 = kWh, so the ratio of m3 to MWh is already L/kWh.
    """
    if water_m3 is None or it_energy_mwh is None or it_energy_mwh <= 0:
        return None
    return water_m3 / it_energy_mwh


def erf(reused_energy_mwh: float | None, facility_energy_mwh: float) -> float | None:
    """ISO/IEC 30134-6 Energy Reuse Factor = energy reused outside the data center / total energy (0-1)."""
    if reused_energy_mwh is None or facility_energy_mwh <= 0:
        return None
    return reused_energy_mwh / facility_energy_mwh


def intensity(numerator: float | None, denominator: float | None) -> float | None:
    """A ratio such as MWh per m2 or tCO2 per million revenue (GRI 302-3 / 305-4)."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def energy_intensity_kwh_per_m2(electricity_mwh: float, floor_area_m2: float | None) -> float | None:
    """GRI 302-3 energy intensity per floor area, kWh/m2 = electricity (MWh) x 1000 / floor area (m2)."""
    return intensity(electricity_mwh * 1000.0, floor_area_m2)


MWH_TO_GJ = 3.6
"""1 MWh = 3.6 GJ; GRI 302-1 asks for energy in joules or multiples."""


def energy_gj(energy_mwh: float) -> float:
    """Energy in GJ (GRI 302-1 reports joules or multiples): MWh x 3.6."""
    return energy_mwh * MWH_TO_GJ
