"""Countries by ISO 3166-1 alpha-2 code or by name, and which of them are EU member states.

A user writes ``market: China`` or ``market: CN``, ``country: Germany`` or ``country: DE``; both mean the
same market boundary (GHG Protocol Scope 2 Guidance, Quality Criterion 5) or the same country. The table
is small and shipped (``greendc/data/carbon/countries.csv``): the EU-27, whose data centres of at least
500 kW report under Directive (EU) 2023/1791 Art. 12 and Delegated Regulation (EU) 2024/1364, and the
countries greendc's users most often report from. Nothing is downloaded.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Country:
    """A country: its ISO 3166-1 alpha-2 ``code``, its English ``name`` and whether it is an EU member."""

    code: str
    name: str
    eu_member: bool


def _key(text: str) -> str:
    """Case, dots, a leading "the" and repeated spaces do not matter: "the U.S.A." matches "usa"."""
    return " ".join(text.replace(".", "").split()).casefold().removeprefix("the ")


@lru_cache(maxsize=1)
def _table() -> tuple[tuple[Country, ...], dict[str, Country]]:
    path = resources.files("greendc").joinpath("data", "carbon", "countries.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    countries = tuple(Country(r["code"], r["name"], r["eu_member"] == "yes") for r in rows)
    index: dict[str, Country] = {}
    for row, country in zip(rows, countries, strict=True):
        for name in (country.code, country.name, *filter(None, row["aliases"].split(";"))):
            index[_key(name)] = country
    return countries, index


def find_country(text: str) -> Country | None:
    """The country a code or a name denotes (``"CN"``, ``"china"``, ``"People's Republic of China"``)."""
    return _table()[1].get(_key(text))


def country_code(text: str) -> str:
    """The ISO code of a country given by code or name; raises ``ValueError`` naming a few known ones."""
    country = find_country(text)
    if country is None:
        raise ValueError(
            f"unknown country {text[:60]!r}: give an ISO 3166-1 code (e.g. CN, US, DE) or an English name "
            f"(e.g. China, United States, Germany); greendc knows {len(_table()[0])} countries"
        )
    return country.code


def market_code(text: str) -> str:
    """A market as the inventory compares it: a country's ISO code when ``text`` names one, else as written.

    Markets are national for the shipped regions (China, the United States), so ``China`` and ``CN`` are
    the same market; a market greendc does not know as a country (e.g. a user-defined one) keeps its text.
    """
    country = find_country(text)
    return country.code if country is not None else text.strip()


def is_eu_member(code: str | None) -> bool:
    """Whether the country with this ISO code is an EU member state."""
    country = find_country(code) if code else None
    return country is not None and country.eu_member


def country_name(code: str) -> str:
    """The English name of a country given by its code (the code itself when unknown)."""
    country = find_country(code)
    return country.name if country is not None else code
