from __future__ import annotations

import pytest

from greendc.carbon.errors import InventoryError
from greendc.carbon.factors import EmissionFactor, shipped_table

# (region, year, kind, t/MWh) as published by MEE and US EPA eGRID; see greendc issue #4.
PUBLISHED = [
    ("CN", 2022, "corporate_reporting", 0.5703),
    ("CN", 2021, "corporate_reporting", 0.5810),
    ("CN", 2021, "grid_average", 0.5568),
    ("CN", 2022, "grid_average", 0.5366),
    ("CN", 2023, "grid_average", 0.5306),
    ("CN", 2022, "residual_mix", 0.5856),
    ("CN", 2023, "residual_mix", 0.6096),
    ("CN-North", 2022, "grid_average", 0.6776),
    ("CN-North", 2023, "grid_average", 0.6361),
    ("CN-Northeast", 2022, "grid_average", 0.5564),
    ("CN-Northeast", 2023, "grid_average", 0.5122),
    ("CN-East", 2022, "grid_average", 0.5617),
    ("CN-East", 2023, "grid_average", 0.5500),
    ("CN-Central", 2022, "grid_average", 0.5395),
    ("CN-Central", 2023, "grid_average", 0.5271),
    ("CN-Northwest", 2022, "grid_average", 0.5857),
    ("CN-Northwest", 2023, "grid_average", 0.5543),
    ("CN-South", 2022, "grid_average", 0.3869),
    ("CN-South", 2023, "grid_average", 0.4042),
    ("CN-Southwest", 2022, "grid_average", 0.2268),
    ("CN-Southwest", 2023, "grid_average", 0.2472),
    ("US-SRVC", 2019, "grid_average", 0.3064),
    ("US-SRVC", 2020, "grid_average", 0.2826),
    ("US-CAMX", 2019, "grid_average", 0.2056),
    ("US-CAMX", 2020, "grid_average", 0.2329),
    ("US-RMPA", 2019, "grid_average", 0.5636),
    ("US-RMPA", 2020, "grid_average", 0.5193),
    ("US-FRCC", 2019, "grid_average", 0.3905),
    ("US-FRCC", 2020, "grid_average", 0.3788),
    ("US-RFCW", 2019, "grid_average", 0.4843),
    ("US-RFCW", 2020, "grid_average", 0.4468),
    ("US-SRMW", 2019, "grid_average", 0.7187),
    ("US-SRMW", 2020, "grid_average", 0.6716),
    ("US", 2019, "grid_average", 0.4011),
    ("US", 2020, "grid_average", 0.3712),
]


@pytest.mark.parametrize(("region", "year", "kind", "value"), PUBLISHED)
def test_shipped_factor_matches_the_publication(region: str, year: int, kind: str, value: float) -> None:
    factor = shipped_table().lookup(region, year, kind)
    assert factor.value_tco2_per_mwh == pytest.approx(value, abs=1e-9)
    assert factor.source and factor.origin == "shipped"


def test_every_shipped_factor_has_a_source_and_a_known_region() -> None:
    table = shipped_table()
    factors = table.all()
    assert len(factors) == len(PUBLISHED)
    for f in factors:
        assert len(f.source) > 20
        assert table.region(f.region).code == f.region


def test_missing_factor_names_region_and_year_and_offers_the_explicit_choice() -> None:
    with pytest.raises(InventoryError) as info:
        shipped_table().lookup("US-RFCW", 2023, "grid_average", file="x.yaml", field="sites[0]")
    text = str(info.value)
    assert "US-RFCW" in text and "2023" in text and "2019, 2020" in text and "factor_year" in text
    assert text.startswith("x.yaml: sites[0]:")


def test_unknown_region_is_an_error_listing_known_ones() -> None:
    with pytest.raises(InventoryError, match=r"unknown grid region 'Atlantis'.*CN-East"):
        shipped_table().region("Atlantis")


def test_user_factor_overrides_the_shipped_one_and_may_add_a_region() -> None:
    user = [
        EmissionFactor("CN-East", 2023, "grid_average", 0.5, "my utility", origin="user"),
        EmissionFactor("EU-DE", 2023, "grid_average", 0.38, "national inventory", origin="user"),
    ]
    table = shipped_table().with_user_factors(user)
    assert table.lookup("CN-East", 2023, "grid_average").value_tco2_per_mwh == 0.5
    assert table.lookup("cn-east", 2022, "grid_average").value_tco2_per_mwh == 0.5617
    assert table.region("EU-DE").market == "EU"
