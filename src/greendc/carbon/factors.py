"""Grid emission factors shipped as data, with user factors that override them.

Every factor carries its region, year, kind and source text, so each reported tonne can be traced to a
published value (GHG Protocol Scope 2 Guidance 2015, ch. 6, "emission factors"). A factor that is
missing for a region and year is an error naming both; using another year's factor must be asked for
explicitly, and it is then disclosed.

Kinds:

- ``grid_average``: location-based grid average (eGRID total output rate, MEE national or regional grid).
- ``corporate_reporting``: China's national grid factor prescribed for corporate GHG reporting (MEE).
- ``residual_mix``: the grid mix left after contractual claims, for the market-based method. For China
  the MEE factor excluding market-traded non-fossil electricity stands in for it.
- ``non_baseload``: the marginal-ish rate of plants that cycle, for avoided emissions (none shipped;
  supply as a user factor, e.g. from eGRID's non-baseload output rates).
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Literal

from greendc.carbon.countries import find_country
from greendc.carbon.errors import InventoryError

FactorKind = Literal["grid_average", "corporate_reporting", "residual_mix", "non_baseload"]
FACTOR_KINDS: tuple[str, ...] = ("grid_average", "corporate_reporting", "residual_mix", "non_baseload")


@dataclass(frozen=True)
class EmissionFactor:
    """One grid emission factor in tonnes CO2 per MWh of electricity consumed."""

    region: str
    year: int
    kind: str
    value_tco2_per_mwh: float
    source: str
    origin: Literal["shipped", "user"] = "shipped"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Region:
    """A grid region: ``market`` is the market boundary for contractual instruments (Scope 2 Quality
    Criterion 5), ``parent`` the wider grid whose factor is less specific, ``country`` the ISO 3166-1 code
    of the country it lies in (None when unknown, e.g. a user-defined region whose market is no country)."""

    code: str
    name: str
    market: str
    parent: str | None
    country: str | None = None


class FactorTable:
    """Shipped factors plus user overrides, keyed by (region, year, kind); region codes are case-blind."""

    def __init__(self, factors: list[EmissionFactor], regions: list[Region]) -> None:
        self._factors: dict[tuple[str, int, str], EmissionFactor] = {}
        for factor in factors:
            self._factors[(factor.region.upper(), factor.year, factor.kind)] = factor
        self._regions = {region.code.upper(): region for region in regions}

    def with_user_factors(self, user: list[EmissionFactor]) -> FactorTable:
        """Return a table where each user factor replaces the shipped one with the same key."""
        regions = list(self._regions.values())
        known = set(self._regions)
        for factor in user:
            if factor.region.upper() not in known:
                market = factor.region.split("-")[0]
                parent = market if "-" in factor.region else None
                country = find_country(market)
                regions.append(
                    Region(
                        factor.region,
                        f"{factor.region} (user-defined)",
                        market,
                        parent,
                        country.code if country is not None else None,
                    )
                )
                known.add(factor.region.upper())
        return FactorTable([*self._factors.values(), *user], regions)

    def region(self, code: str, *, file: object = None, field: str = "grid_region") -> Region:
        """The region with this code, or an error listing the known ones."""
        try:
            return self._regions[code.upper()]
        except KeyError:
            known = ", ".join(sorted(r.code for r in self._regions.values()))
            raise InventoryError(
                file, field, f"unknown grid region {code!r} (known: {known}; or add a user factor)"
            ) from None

    def get(self, region: str, year: int, kind: str) -> EmissionFactor | None:
        return self._factors.get((region.upper(), year, kind))

    def years(self, region: str, kind: str) -> list[int]:
        return sorted(y for (r, y, k) in self._factors if r == region.upper() and k == kind)

    def lookup(self, region: str, year: int, kind: str, *, file: object = None, field: str = "") -> EmissionFactor:
        """The factor for exactly this region, year and kind; never a silent default."""
        factor = self.get(region, year, kind)
        if factor is None:
            years = self.years(region, kind)
            hint = (
                f"; {kind} factors exist for {', '.join(map(str, years))}: choose one explicitly with factor_year"
                if years
                else ""
            )
            raise InventoryError(file, field, f"no {kind} emission factor for region {region!r} and year {year}{hint}")
        return factor

    def all(self) -> list[EmissionFactor]:
        return sorted(self._factors.values(), key=lambda f: (f.region, f.kind, f.year))


def _data_file(name: str):
    return resources.files("greendc").joinpath("data", "carbon", name)


def shipped_table() -> FactorTable:
    """The factors in ``greendc/data/carbon/factors.csv`` and the regions in ``regions.csv``."""
    with _data_file("factors.csv").open(encoding="utf-8") as handle:
        factors = [
            EmissionFactor(
                region=row["region"],
                year=int(row["year"]),
                kind=row["kind"],
                value_tco2_per_mwh=float(row["value_tco2_per_mwh"]),
                source=row["source"],
            )
            for row in csv.DictReader(handle)
        ]
    with _data_file("regions.csv").open(encoding="utf-8") as handle:
        regions = [
            Region(row["region"], row["name"], row["market"], row["parent"] or None, row["country"] or None)
            for row in csv.DictReader(handle)
        ]
    return FactorTable(factors, regions)
