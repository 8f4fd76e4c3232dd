"""Which data centres report under Commission Delegated Regulation (EU) 2024/1364.

Directive (EU) 2023/1791 Art. 12 and the Delegated Regulation's Art. 1 apply to data centres in the Union
with an installed information technology power demand (P_DIT) of at least 500 kW. Their operators report
the information and key performance indicators of the Regulation's Annex I (measured as its Annex II
says); the data centre sustainability indicators (PUE, WUE, ERF, REF) are those of Annex III.
"""

from __future__ import annotations

from greendc.carbon.countries import country_name, is_eu_member

THRESHOLD_KW = 500.0
"""Installed IT power demand from which a data centre in the EU reports (Directive (EU) 2023/1791, Art. 12)."""

ANNEX_INFORMATION = "Annex I"
"""Information and key performance indicators to be communicated to the European database."""
ANNEX_INDICATORS = "Annex III"
"""Data centre sustainability indicators computed from the Annex I figures."""


def reporting_exemption(country: str | None, installed_it_power_kw: float | None) -> str | None:
    """None when a data centre reports under the Regulation; else why it does not (or cannot be told), in words.

    ``country`` is an ISO 3166-1 code; ``installed_it_power_kw`` the installed IT power demand in kW.
    """
    if country is None:
        return "its country is not in the inventory"
    name = country_name(country)
    if not is_eu_member(country):
        return f"it is not in the EU ({name})"
    if installed_it_power_kw is None:
        return (
            f"it is in the EU ({name}) but its installed IT power is not in the inventory, so the "
            f"{THRESHOLD_KW:,.0f} kW threshold cannot be checked"
        )
    if installed_it_power_kw < THRESHOLD_KW:
        return f"its installed IT power ({installed_it_power_kw:,.0f} kW) is below the {THRESHOLD_KW:,.0f} kW threshold"
    return None
