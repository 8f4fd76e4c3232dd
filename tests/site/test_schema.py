from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.conftest import EXAMPLE_SITE, REPO, example_site_data

from greendc.control.registry import make_controller
from greendc.site.loader import SiteFileError, load_site
from greendc.site.schema import Site
from greendc.site.weather import SHIPPED_WEATHER, WeatherError, resolve_weather
from greendc.twin.builder import SiteInputError, build_twin
from greendc.twin.runner import run_simulation
from greendc.twin.schema_check import validate_epjson


def _write(tmp_path: Path, data: object, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_every_example_site_loads_builds_a_valid_twin_and_runs_a_day() -> None:
    sites = sorted((REPO / "examples" / "sites").glob("*.yaml"))
    assert sites, "examples/sites must hold at least one site"
    for path in sites:
        site, site_dir = load_site(path)
        assert site.zones and site_dir == path.parent
        # A user copies these files: the twin must build and pass the engine's schema as shipped, and one
        # July day (sizing included) must run without a severe error under the legacy control, the hottest
        # inlet at or below 27 C and none colder than the coldest supply air the legacy reset may ask for.
        day = site.simulation.model_copy(update={"begin_month": 7, "begin_day": 1, "end_month": 7, "end_day": 1})
        twin = build_twin(site.model_copy(update={"simulation": day}), site_dir=site_dir)
        validate_epjson(twin.epjson)
        assert [system.names.zone for system in twin.zones] == [zone.name for zone in site.zones], path.name
        run = run_simulation(twin, make_controller("default"))
        assert run.err.severe == 0, (path.name, run.err.severe_messages[:3])
        inlets = run.telemetry[[f"{zone.name}/inlet_temp_c" for zone in site.zones]]
        assert len(inlets) == 24 * site.simulation.timesteps_per_hour, path.name
        coldest_supply_c = twin.design_setpoints.supply_air_reset_c.min
        assert inlets.min().min() >= coldest_supply_c and inlets.max().max() <= 27.0, path.name


def test_packaged_demo_site_is_the_example() -> None:
    packaged = REPO / "src" / "greendc" / "data" / "sites" / "two-hall-chicago.yaml"
    assert packaged.read_text() == EXAMPLE_SITE.read_text()


def test_it_design_power_from_density_and_kw() -> None:
    site = Site.model_validate(example_site_data())
    assert site.it_design_power_w == pytest.approx((232 + 259) * 200.0)
    zone = site.zones[0].model_copy(update={"it_design_power_density_w_per_m2": None, "it_design_power_kw": 50.0})
    assert zone.it_design_power_w == 50_000.0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(colour="red"), "colour: unknown key"),
        (lambda d: d["cooling"]["economizer"].update(max_dry_bulb_c=99), "cooling.economizer.max_dry_bulb_c"),
        (lambda d: d["zones"][0].update(floor_area_m2=-5), "zones.0.floor_area_m2"),
        (lambda d: d["simulation"].update(timesteps_per_hour=7), "simulation.timesteps_per_hour"),
        (lambda d: d["simulation"].update(begin_month=2, begin_day=30), "begin_day 30 does not exist in month 2"),
        (lambda d: d["simulation"].update(begin_month=8), "must end on or after its start"),
        (lambda d: d["setpoints"].update(supply_air_c={"min": 20, "max": 14}), "setpoints.supply_air_c"),
        (lambda d: d.pop("name"), "name: required field is missing"),
        (lambda d: d["zones"][0].update(it_design_power_kw=10), "exactly one of"),
        (lambda d: d["zones"][1].update(name="West Hall"), "zone names must be unique"),
        (lambda d: d["servers"].update(idle_power_fraction=0.3), "only be given with server_class: custom"),
        (lambda d: d["servers"].update(server_class="custom"), "custom needs"),
    ],
)
def test_bad_site_gives_one_line_naming_file_and_field(tmp_path: Path, change, expected: str) -> None:
    data = example_site_data()
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(SiteFileError) as raised:
        load_site(path)
    message = str(raised.value)
    assert "\n" not in message
    assert str(path) in message
    assert expected in message


def test_out_of_range_names_the_allowed_range(tmp_path: Path) -> None:
    data = example_site_data()
    data["zones"][0]["floor_area_m2"] = -5
    with pytest.raises(SiteFileError, match=r"allowed: > 1 and <= 100000"):
        load_site(_write(tmp_path, data))


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    with pytest.raises(SiteFileError, match=r"malformed YAML at line 2"):
        load_site(_write(tmp_path, "name: [unclosed\nweather: chicago\n"))


def test_missing_site_file() -> None:
    with pytest.raises(SiteFileError, match="site file not found"):
        load_site("/nonexistent/site.yaml")


def test_shipped_weather_names_resolve() -> None:
    for name in SHIPPED_WEATHER:
        assert resolve_weather(name).is_file()


def test_missing_weather_file(tmp_path: Path) -> None:
    with pytest.raises(WeatherError, match="weather file not found"):
        resolve_weather("nowhere.epw", relative_to=tmp_path)


def test_custom_server_class_is_accepted() -> None:
    data = example_site_data()
    data["servers"] = {"server_class": "custom", "idle_power_fraction": 0.3, "cpu_leakage_per_c": 0.001,
                       "fan_power_fraction": 0.1, "min_airflow_fraction": 0.4, "fan_ramp_start_c": 24,
                       "fan_full_speed_c": 38}
    site = Site.model_validate(data)
    assert site.servers.model().fan_power_fraction == 0.1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("fraction\n" + "0.5\n" * 100, "has 100 rows"),
        ("fraction\n" + "abc\n" + "0.5\n" * 8759, "line 2: 'abc'"),
        ("fraction\n" + "1.5\n" * 8760, "must lie in 0-1"),
        ("load\n" + "0.5\n" * 8760, "column 'fraction' not found"),
    ],
)
def test_bad_csv_profile(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "load.csv").write_text(content)
    data = example_site_data()
    data["it_load"] = {"kind": "csv", "path": "load.csv"}
    site = Site.model_validate(data)
    with pytest.raises(SiteInputError, match=expected):
        build_twin(site, site_dir=tmp_path)


def test_unreadable_csv_profile(tmp_path: Path) -> None:
    (tmp_path / "load.csv").write_bytes(b"\xff\xfe\x00binary")
    data = example_site_data()
    data["it_load"] = {"kind": "csv", "path": "load.csv"}
    with pytest.raises(SiteInputError, match=r"it_load\.path"):
        build_twin(Site.model_validate(data), site_dir=tmp_path)
    data["it_load"] = {"kind": "csv", "path": "absent.csv"}
    with pytest.raises(SiteInputError, match="cannot read CSV"):
        build_twin(Site.model_validate(data), site_dir=tmp_path)


def test_heat_wave_weather_shifts_temperatures(tmp_path: Path) -> None:
    from greendc.site.weather import read_weather, shifted_weather

    out = shifted_weather(resolve_weather("dulles"), tmp_path / "hot.epw", dry_bulb_k=3.0, dew_point_k=2.0)
    original, _ = read_weather(resolve_weather("dulles"))
    hot, _ = read_weather(out)
    assert (hot["temp_air"] - original["temp_air"]).mean() == pytest.approx(3.0, abs=0.05)
    assert (hot["temp_dew"] <= hot["temp_air"]).all()
    assert (hot["temp_dew"] - original["temp_dew"]).mean() == pytest.approx(2.0, abs=0.1)
    # Warmer air holding a little more moisture: relative humidity falls slightly, never above 100 %.
    assert hot["relative_humidity"].max() <= 100
    assert hot["relative_humidity"].mean() < original["relative_humidity"].mean()
