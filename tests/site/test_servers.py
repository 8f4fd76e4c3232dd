"""Warmer inlet air raises IT power by the documented amount (module docstring of greendc.site.servers)."""

from __future__ import annotations

import pytest

from greendc.site.servers import ServerCurves, it_power_fraction


def _relative(server_class: str, inlet_c: float) -> float:
    model = ServerCurves(server_class=server_class).model()
    return float(it_power_fraction(model, 1.0, inlet_c) / it_power_fraction(model, 1.0, 20.0))


@pytest.mark.parametrize(("inlet_c", "increase"), [(27.0, 0.033), (30.0, 0.062), (35.0, 0.139)])
def test_volume_server_increase_matches_documentation(inlet_c: float, increase: float) -> None:
    assert _relative("volume-a2", inlet_c) - 1 == pytest.approx(increase, abs=0.002)


def test_published_band_not_the_energyplus_example() -> None:
    # ASHRAE 2011: a few percent at 27-30 C and 7-20 % at 35 C; the EnergyPlus example doubles CPU power.
    assert 1.0 < _relative("volume-a2", 27.0) < 1.05
    assert 1.07 <= _relative("volume-a2", 35.0) <= 1.20
    example = ServerCurves(server_class="energyplus-example").model()
    assert example.cpu_power(1.0, 30.0) / example.cpu_power(1.0, 15.0) > 1.9


def test_power_flat_below_fan_knee_and_rises_with_load() -> None:
    model = ServerCurves().model()
    assert _relative("volume-a2", 15.0) == pytest.approx(1.0, abs=0.01)
    assert it_power_fraction(model, 0.2, 25.0) < it_power_fraction(model, 0.8, 25.0)
