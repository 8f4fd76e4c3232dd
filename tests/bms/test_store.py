"""The point store: BACnet's priority arrays (an operator at 8 beats the agent at 13) and the watchdog that
gives a silent agent's points back to the building."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from greendc.bms.store import PointStore, WriteRejectedError
from greendc.bms.template import point_map_template
from greendc.site.loader import load_site

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sites"
SETPOINT = "East Hall/supply_air_setpoint_c"


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def store() -> tuple[PointStore, FakeClock]:
    site, _ = load_site(EXAMPLES / "two-hall-chicago.yaml")
    clock = FakeClock()
    return PointStore(point_map_template(site, "site.yaml", watchdog_timeout_s=30.0), clock=clock), clock


def test_the_highest_priority_command_wins_and_an_empty_array_is_the_buildings_own_value(store) -> None:
    points, _ = store
    points.publish({SETPOINT: 18.0})
    assert points.read(SETPOINT) == 18.0 and points.command(SETPOINT) is None
    points.write(SETPOINT, 22.0, 13)
    assert points.read(SETPOINT) == 22.0
    points.write(SETPOINT, 16.0, 8)  # the operator
    assert points.read(SETPOINT) == 16.0 and points.command(SETPOINT) == 16.0
    points.write(SETPOINT, 24.0, 13)  # the agent cannot override the operator
    assert points.read(SETPOINT) == 16.0
    points.write(SETPOINT, None, 8)
    assert points.read(SETPOINT) == 24.0
    points.write(SETPOINT, None, 13)
    assert points.read(SETPOINT) == 18.0 and points.command(SETPOINT) is None


@pytest.mark.parametrize(("name", "value", "priority", "words"), [
    ("East Hall/inlet_temp_c", 20.0, 13, "read-only"),
    (SETPOINT, math.nan, 13, "not a finite number"),
    (SETPOINT, 20.0, 17, "outside 1-16"),
    ("North Hall/supply_air_setpoint_c", 20.0, 13, "no point"),
])
def test_a_bad_write_is_rejected_and_changes_nothing(store, name: str, value: float, priority: int,
                                                     words: str) -> None:
    points, _ = store
    points.publish({SETPOINT: 18.0, "East Hall/inlet_temp_c": 21.0})
    with pytest.raises(WriteRejectedError, match=words):
        points.write(name, value, priority)
    assert points.read(SETPOINT) == 18.0 and points.read("East Hall/inlet_temp_c") == 21.0
    assert points.summary().agent_writes == 0


def test_a_silent_agent_is_relinquished_after_the_timeout_and_the_operator_stays(store) -> None:
    points, clock = store
    points.publish({SETPOINT: 18.0})
    points.write("heartbeat", 1.0, 13)
    points.write(SETPOINT, 23.0, 13)
    points.write("West Hall/supply_air_setpoint_c", 15.0, 8)
    clock.now_s += 30.0
    assert not points.check_watchdog() and points.command(SETPOINT) == 23.0
    clock.now_s += 0.5
    assert points.check_watchdog()
    assert points.command(SETPOINT) is None and points.read(SETPOINT) == 18.0
    assert points.command("West Hall/supply_air_setpoint_c") == 15.0  # priority 8 is not the agent's slot
    assert not points.check_watchdog()  # one trip, not one per check
    clock.now_s += 2.0
    points.note_local_control()
    assert points.summary().watchdog_trips == 1
    assert points.summary().return_to_local_s == (pytest.approx(32.5),)


def test_a_heartbeat_that_does_not_change_is_no_heartbeat_and_a_new_one_rearms(store) -> None:
    points, clock = store
    points.write("heartbeat", 7.0, 13)
    clock.now_s += 20.0
    points.write("heartbeat", 7.0, 13)  # a stuck agent repeating itself
    clock.now_s += 11.0
    assert points.check_watchdog()
    points.note_local_control()
    points.write("heartbeat", 8.0, 13)
    points.write(SETPOINT, 21.0, 13)
    assert not points.check_watchdog() and points.command(SETPOINT) == 21.0
    clock.now_s += 31.0
    assert points.check_watchdog() and points.summary().watchdog_trips == 2


def test_listeners_hear_every_change(store) -> None:
    points, _ = store
    heard: list[int] = []
    points.add_listener(lambda: heard.append(1))
    points.publish({SETPOINT: 18.0})
    points.write(SETPOINT, 20.0, 13)
    assert len(heard) == 2


def test_the_wire_speaks_the_points_unit(store) -> None:
    points, _ = store
    points.publish({"facility_power_w": 120_000.0})
    assert points.read_wire("facility_power_w") == pytest.approx(120.0)  # kW on the meter
