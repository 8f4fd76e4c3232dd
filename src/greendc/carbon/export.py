"""``figures.json``: every reported number with its inputs, factor and source, for an auditor to recompute."""

from __future__ import annotations

import math
from typing import Any

from greendc.carbon.calculate import InventoryResult, SavingResult, SiteResult
from greendc.carbon.inventory import SAVING_KINDS

SCHEMA = "greendc.carbon.figures/1"
HEADLINE_KEYS: tuple[str, ...] = (
    "electricity_mwh",
    "renewable_mwh",
    "renewable_share",
    "location_based_tco2",
    "market_based_tco2",
    "avoided_tco2",
    "pue",
    "ref",
    "cue",
    "wue",
)
SITE_KEYS: tuple[str, ...] = (
    *HEADLINE_KEYS,
    *("grid_electricity_mwh", "onsite_renewable_mwh", "procured_renewable_mwh", "it_energy_mwh", "water_m3"),
    *("cue_market_based", "erf", "renewable_capacity_mw", "energy_intensity_kwh_per_m2"),
)
"""The figures a site's record repeats at its top level (all of them are under ``figures``)."""
ORGANIZATION_KEYS: tuple[str, ...] = (
    *HEADLINE_KEYS,
    *("grid_electricity_mwh", "onsite_renewable_mwh", "procured_renewable_mwh", "energy_saved_mwh", "energy_gj"),
    *("it_energy_mwh", "water_m3", "renewable_capacity_mw", "cue_market_based"),
    *(f"{key}_{kind}" for kind in SAVING_KINDS for key in ("energy_saved_mwh", "avoided_tco2")),
)
"""The figures the organization's record repeats at its top level."""


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity; dates and paths become strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def _site_json(site: SiteResult) -> dict[str, Any]:
    out: dict[str, Any] = {"name": site.name, **{key: site.value(key) for key in SITE_KEYS}}
    out["grid_region"] = site.region.code
    out["grid_region_name"] = site.region.name
    out["market"] = site.region.market
    out["country"] = site.country
    out["electricity_source"] = site.electricity_source
    out["months"] = site.months
    if site.monthly_electricity_mwh is not None:
        out["monthly_electricity_mwh"] = site.monthly_electricity_mwh
    if site.monthly_end_uses_mwh is not None:
        out["monthly_end_uses_mwh"] = site.monthly_end_uses_mwh
    if site.monthly_pue is not None:
        out["monthly_pue"] = site.monthly_pue
    out["onsite_generation"] = [
        {
            "name": o.name,
            "technology": o.technology,
            "capacity_kw": o.capacity_kw,
            "generated_mwh": o.generated_mwh,
            "exported_mwh": o.exported_mwh,
            "self_consumed_mwh": o.self_consumed_mwh,
            "method": o.method,
            "monthly_mwh": list(o.pv.monthly_mwh) if o.pv else None,
        }
        for o in site.onsite
    ]
    out["quality_checks"] = [
        {"criterion": c.criterion, "passed": c.passed, "detail": c.detail} for c in site.market.checks
    ]
    out["figures"] = {key: fig.as_dict() for key, fig in site.figures.items()}
    return out


def _saving_json(x: SavingResult) -> dict[str, Any]:
    """One saving: its kind (verified, entered, simulated) in code and words, its interval where it has one, and
    what it rests on: the whole verification record of a verified saving, the controllers of a simulated one."""
    out: dict[str, Any] = {
        "name": x.name,
        "site": x.site,
        "kind": x.kind,
        "kind_words": x.kind_words,
        "saved_mwh": x.saved_mwh,
        "avoided_tco2": x.avoided_tco2,
        "basis": x.basis,
        "verification": x.verification,
        "factor": x.factor.as_dict(),
        "figures": {"saved_mwh": x.saved.as_dict(), "avoided_tco2": x.avoided.as_dict()},
        "note": "GRI 305-5 reduction; reported separately, never netted from Scope 2",
    }
    if x.saved_interval is not None and x.avoided_interval is not None:
        out["interval"] = {
            "saved_mwh_lower": x.saved_interval.lower,
            "saved_mwh_upper": x.saved_interval.upper,
            "avoided_tco2_lower": x.avoided_interval.lower,
            "avoided_tco2_upper": x.avoided_interval.upper,
            "confidence_percent": x.saved_interval.confidence_pct,
        }
    if x.record is not None:
        out["verification_record_file"] = str(x.record_path)
        out["verification_record"] = x.record.model_dump(mode="json")
    if x.simulated_by is not None:
        by = x.simulated_by
        out["simulated_by"] = {
            "model": "greendc EnergyPlus twin",
            "baseline_controller": by.baseline_controller,
            "improved_controller": by.improved_controller,
            "climate": by.climate,
        }
        out["note"] = "simulated, not metered: " + out["note"]
    return out


def to_json(result: InventoryResult) -> dict[str, Any]:
    """The figures document (see docs/carbon.md for the contract)."""
    inv = result.inventory
    start, end = inv.period
    org: dict[str, Any] = {
        "name": inv.organization.name,
        "reporting_year": inv.reporting_year,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
    }
    org.update({key: result.value(key) for key in ORGANIZATION_KEYS})
    org["figures"] = {key: fig.as_dict() for key, fig in result.figures.items()}
    org["year_over_year"] = {
        key: {
            "current": y.current,
            "previous": y.previous,
            "change": y.change,
            "change_percent": y.change_percent,
            "unit": unit,
            **({"change_percentage_points": y.change * 100.0} if unit == "fraction" else {}),
        }
        for key, (y, unit) in result.year_over_year.items()
    }
    if inv.previous_year is not None:
        org["year_over_year_previous_year"] = inv.previous_year.year
    doc = {
        "schema": SCHEMA,
        "inventory": result.label,
        "organization": org,
        "sites": [_site_json(s) for s in result.sites],
        "avoided_emissions": [_saving_json(x) for x in result.savings],
        "factors_used": [f.as_dict() for f in result.factors_used],
        "disclosures": result.disclosures,
        "notes": list(inv.notes),
    }
    return _clean(doc)
