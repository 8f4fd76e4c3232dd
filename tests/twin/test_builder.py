from __future__ import annotations

import copy
import gc

import numpy as np
import pytest
import yaml
from tests.conftest import EXAMPLES, example_site_data

from greendc.control.registry import make_controller
from greendc.site.schema import Site
from greendc.twin.builder import build_twin
from greendc.twin.runner import run_simulation
from greendc.twin.schema_check import ModelValidationError, validate_epjson


def _three_zone_site() -> Site:
    data = example_site_data()
    data["zones"] = [
        {"name": "Hall A", "floor_area_m2": 150, "it_design_power_kw": 30, "cooling_coil": "dx"},
        {"name": "Hall B", "floor_area_m2": 300, "it_design_power_kw": 90},
        {"name": "Hall C", "floor_area_m2": 80, "it_design_power_density_w_per_m2": 500},
    ]
    data["cooling"]["direct_evaporative"] = {"enabled": False}
    return Site.model_validate(data)


def test_generated_models_are_schema_valid(short_site: Site) -> None:
    for site in (short_site, _three_zone_site()):
        twin = build_twin(site)
        validate_epjson(twin.epjson)
        assert len(twin.zones) == len(site.zones)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_schema_is_parsed_with_the_collector_off_and_left_as_it_was(monkeypatch: pytest.MonkeyPatch,
                                                                          enabled: bool) -> None:
    from greendc.twin import schema_check

    seen: list[bool] = []
    loads = schema_check.json.loads
    monkeypatch.setattr(schema_check, "_schema", schema_check._schema.__wrapped__)
    monkeypatch.setattr(schema_check.json, "loads", lambda text: seen.append(gc.isenabled()) or loads(text))
    if not enabled:
        gc.disable()
    try:
        assert "ElectricEquipment:ITE:AirCooled" in schema_check._schema()["properties"]
        assert seen == [False] and gc.isenabled() == enabled
    finally:
        gc.enable()


def test_every_ite_object_takes_air_from_the_system(short_site: Site) -> None:
    twin = build_twin(_three_zone_site())
    ite = twin.epjson["ElectricEquipment:ITE:AirCooled"]
    assert len(ite) == 3
    for fields in ite.values():
        assert fields["air_flow_calculation_method"] == "FlowFromSystem"
        assert fields["air_inlet_connection_type"] == "AdjustedSupply"
    assert sum(f["watts_per_unit"] for f in ite.values()) == pytest.approx(30_000 + 90_000 + 80 * 500)


def test_dx_only_site_has_no_plant(short_site: Site) -> None:
    data = example_site_data()
    data["cooling"]["coil"] = "dx"
    for zone in data["zones"]:
        zone.pop("cooling_coil", None)
    twin = build_twin(Site.model_validate(data))
    assert not twin.has_chiller_plant
    assert "PlantLoop" not in twin.epjson
    validate_epjson(twin.epjson)


def test_disabled_stages_are_left_out(short_site: Site) -> None:
    twin = build_twin(_three_zone_site())
    assert "EvaporativeCooler:Direct:ResearchSpecial" not in twin.epjson
    assert len(twin.epjson["EvaporativeCooler:Indirect:ResearchSpecial"]) == 3


def test_design_days_come_from_the_site_weather(short_site: Site) -> None:
    chicago = build_twin(short_site).epjson["SizingPeriod:DesignDay"]["Cooling Design Day"]
    tampa = build_twin(short_site, weather="tampa").epjson["SizingPeriod:DesignDay"]["Cooling Design Day"]
    golden = build_twin(short_site, weather="golden").epjson["SizingPeriod:DesignDay"]["Cooling Design Day"]
    assert 30 < chicago["maximum_dry_bulb_temperature"] < 36
    assert golden["wetbulb_or_dewpoint_at_maximum_dry_bulb"] < tampa["wetbulb_or_dewpoint_at_maximum_dry_bulb"] - 5
    assert golden["barometric_pressure"] < 85_000 < tampa["barometric_pressure"]


def test_validation_catches_unknown_fields_and_wrong_types(short_site: Site) -> None:
    twin = build_twin(short_site)
    model = copy.deepcopy(twin.epjson)
    ite = next(iter(model["ElectricEquipment:ITE:AirCooled"].values()))
    ite["watts_per_zone_floor_area"] = 200  # the pre-25.2 name EnergyPlus silently ignores
    with pytest.raises(ModelValidationError, match="unknown field 'watts_per_zone_floor_area'"):
        validate_epjson(model)
    model = copy.deepcopy(twin.epjson)
    next(iter(model["ElectricEquipment:ITE:AirCooled"].values()))["watts_per_unit"] = "lots"
    with pytest.raises(ModelValidationError, match="watts_per_unit"):
        validate_epjson(model)
    model = copy.deepcopy(twin.epjson)
    model["Coil:Cooling:Imaginary"] = {"x": {}}
    with pytest.raises(ModelValidationError, match="unknown object type"):
        validate_epjson(model)


@pytest.mark.parametrize("dry_effectiveness", [None, 0.9])
def test_iec_effectiveness_curve_keeps_the_secondary_flow_solvable(dry_effectiveness: float | None) -> None:
    # EnergyPlus caps the dry secondary outlet 0.2 K under the primary inlet once dry effectiveness * f(r)
    # reaches r (secondary / primary flow); the primary outlet then jumps and its flow search can fail.
    data = example_site_data()
    if dry_effectiveness is not None:
        data["cooling"]["indirect_evaporative"]["dry_bulb_effectiveness"] = dry_effectiveness
    epjson = build_twin(Site.model_validate(data)).epjson
    coolers = list(epjson["EvaporativeCooler:Indirect:ResearchSpecial"].values())
    assert coolers
    for fields in coolers:
        curve = epjson["Curve:Quadratic"][fields["drybulb_effectiveness_flow_ratio_modifier_curve_name"]]
        r = np.linspace(1e-3, curve["maximum_value_of_x"], 500)
        f = curve["coefficient1_constant"] + curve["coefficient2_x"] * r + curve["coefficient3_x_2"] * r**2
        assert curve["coefficient1_constant"] == 0.0
        assert f[np.argmin(abs(r - 1.0))] == pytest.approx(1.0, abs=0.01)  # design effectiveness at design flow
        assert (np.diff(f) > 0).all()
        assert (fields["cooler_drybulb_design_effectiveness"] * f < 0.97 * r).all()
    validate_epjson(epjson)


def test_dry_effectiveness_above_what_energyplus_can_solve_is_rejected() -> None:
    data = example_site_data()
    data["cooling"]["indirect_evaporative"]["dry_bulb_effectiveness"] = 0.97
    with pytest.raises(ValueError, match="dry_bulb_effectiveness"):
        Site.model_validate(data)


def test_spring_run_has_no_severe_errors() -> None:
    # Early April in Chicago puts the indirect evaporative coolers in dry modulated mode (about 1 s).
    site = Site.model_validate(example_site_data(begin_month=4, begin_day=1, end_month=4, end_day=18))
    result = run_simulation(build_twin(site), make_controller("default"))
    assert result.err.severe == 0, result.err.severe_messages


def test_the_chiller_does_not_start_for_a_coils_residual_load() -> None:
    # A January week on the three-hall chilled-water example: the economizer cools, and before the start
    # threshold the chiller ran at half the steps for a few watts, its 6 kW condenser pump with it.
    data = yaml.safe_load((EXAMPLES / "three-hall-chilled-water.yaml").read_text())
    data["weather"] = "chicago"
    data["simulation"] = {"timesteps_per_hour": 4, "begin_month": 1, "begin_day": 8, "end_month": 1, "end_day": 14}
    result = run_simulation(build_twin(Site.model_validate(data)), make_controller("trim-respond"))
    telemetry = result.telemetry
    pump_on = telemetry["condenser_pump_power_w"] > 1.0
    # Cooling a 1 kW load at the site's COP of 5.5 draws some 180 W; the residuals drew 0.1-10 W.
    assert (telemetry.loc[pump_on, "chiller_power_w"] > 100.0).all()
    assert pump_on.mean() < 0.05, f"condenser pump on at {pump_on.mean():.0%} of a January week's steps"
    assert result.err.severe == 0
