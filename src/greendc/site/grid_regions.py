"""The grid regions a site file may name: those greendc ships emission factors for.

A site's ``grid_region`` is only used by the carbon report, after a year of simulation; checking it when
the site file is loaded finds a typo at once. The codes are read from the packaged
``greendc/data/carbon/regions.csv``, the same file the carbon part reads for the regions' names and
markets. Data flow from the site to the carbon part, so this package reads the file and does not import
``greendc.carbon``.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError


@lru_cache(maxsize=1)
def known_grid_regions() -> tuple[str, ...]:
    """The region codes of ``regions.csv`` (``CN``, ``CN-East``, ``US-RFCW``...), in file order."""
    path = resources.files("greendc").joinpath("data", "carbon", "regions.csv")
    with path.open(encoding="utf-8") as handle:
        return tuple(row["region"] for row in csv.DictReader(handle))


def checked_grid_region(code: str) -> str:
    """``code`` as ``regions.csv`` spells it (the match ignores case); an unknown code names the known ones."""
    by_key = {known.upper(): known for known in known_grid_regions()}
    try:
        return by_key[code.strip().upper()]
    except KeyError:
        raise PydanticCustomError(
            "unknown_grid_region",
            "unknown grid region (known: {known})",
            {"known": ", ".join(known_grid_regions())},
        ) from None


GridRegion = Annotated[str, Field(min_length=1), AfterValidator(checked_grid_region)]
"""A site file's ``grid_region``: one of :func:`known_grid_regions`."""
