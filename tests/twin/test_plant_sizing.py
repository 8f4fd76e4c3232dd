"""The plant is sized for full IT load on the design days, whatever kind of load the site gives, and on the
design weather the site names: a real plant keeps its size from one weather year to the next."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tests.conftest import example_site_data

from greendc.site.schema import Site
from greendc.site.weather import design_conditions, read_weather, resolve_weather
from greendc.twin.builder import build_twin


def _csv_site(tmp_path: Path, fractions: np.ndarray, **changes: object) -> Site:
    csv = tmp_path / f"load-{len(list(tmp_path.iterdir()))}.csv"
    pd.DataFrame({"fraction": fractions}).to_csv(csv, index=False)
    return Site.model_validate({**example_site_data(), "it_load": {"kind": "csv", "path": str(csv)}, **changes})


def test_a_csv_load_gives_the_design_days_full_load(tmp_path: Path) -> None:
    fractions = np.full(8760, 0.4)
    fractions[24 * 201:24 * 202] = 0.9  # 21 July, the cooling design day's date
    schedule = build_twin(_csv_site(tmp_path, fractions)).epjson["Schedule:Compact"]["IT Load Fraction"]
    fields = [item["field"] for item in schedule["data"]]
    assert fields[:4] == ["Through: 01/01", "For: SummerDesignDay WinterDesignDay", "Until: 24:00", 1.0]
    assert fields.count("Through: 07/21") == 1 and fields[-1] == 0.4
    assert fields.count(0.9) == 24


def test_the_design_weather_sizes_the_plant_in_other_weather(tmp_path: Path) -> None:
    site = Site.model_validate({**example_site_data(), "design_weather": "dulles"})
    twin = build_twin(site, weather="chicago")
    dulles = design_conditions(read_weather(resolve_weather("dulles"))[0])
    chicago = design_conditions(read_weather(resolve_weather("chicago"))[0])
    assert twin.design == dulles != chicago
    assert twin.weather_path.name.startswith("USA_IL_Chicago")
