"""Avoided emissions from verified energy savings (GRI 302-4 reductions, GRI 305-5 GHG reductions).

Avoided emissions are reported beside the inventory and never netted from it: a saving lowers next
year's Scope 2 by itself; subtracting it again would count it twice (GHG Protocol Scope 2 Guidance
2015, ch. 6.9 and 10, and GRI 305-5, which asks for reductions separately from the scopes).
"""

from __future__ import annotations


def avoided_tco2(saved_mwh: float, factor_tco2_per_mwh: float) -> float:
    """Emissions avoided by a saving, tCO2 = MWh saved x factor (t/MWh; grid average or non-baseload)."""
    return saved_mwh * factor_tco2_per_mwh
