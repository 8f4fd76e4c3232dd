"""BACnet/IP over loopback: a served point store read, written and watched by the agent's client.

Every test runs a server and a client in one event loop on ports the OS picks, under one bound
(:data:`TEST_BOUND_S`); the client's own requests are bounded by the device's timeout.
"""

from __future__ import annotations

import asyncio
import math
import socket
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from bacpypes3.apdu import WritePropertyRequest
from bacpypes3.basetypes import EngineeringUnits
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import Null

from greendc.bms.bacnet import (
    BacnetBindError,
    BacnetClient,
    BacnetServer,
    DeviceUnreachableError,
    SubscriptionRefusedError,
    engineering_units,
    object_identifier,
    serve_bacnet,
)
from greendc.bms.points import HEARTBEAT, Device, Point, PointMap
from greendc.bms.store import PointStore, WriteRejectedError
from greendc.bms.template import BACNET_DEVICE, point_map_template
from greendc.site.loader import load_site

REPO = Path(__file__).resolve().parents[2]
TWO_HALL = REPO / "examples" / "sites" / "two-hall-chicago.yaml"
#: No test may take longer than this, s.
TEST_BOUND_S = 10.0
#: How long a test waits for a COV notification, s.
NOTIFICATION_WAIT_S = 2.0
SETPOINT = "East Hall/supply_air_setpoint_c"
SENSOR = "outdoor_dry_bulb_c"
KW_POINT = "East Hall/it_power_w"

Body = Callable[[PointStore, BacnetClient, PointMap], Awaitable[None]]


def free_udp_port() -> int:
    """A UDP port of 127.0.0.1 that nothing is bound to (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def two_hall_map() -> PointMap:
    site, _ = load_site(TWO_HALL)
    return point_map_template(site, "site.yaml", bacnet_address=f"127.0.0.1:{free_udp_port()}")


def hundred_point_map() -> PointMap:
    """11 halls of the template's 9 BACnet points each (7 sensors, 2 setpoints), and the heartbeat."""
    template = two_hall_map()
    hall = [point for point in template.points if point.zone == "East Hall"]
    points = [point.model_dump(exclude_none=True) | {"name": f"Hall {z}/{point.column}",
                                                      "instance": 100 * z + k}
              for z in range(1, 12) for k, point in enumerate(hall)]
    points.append(template.point(HEARTBEAT).model_dump(exclude_none=True))  # type: ignore[union-attr]
    return PointMap.model_validate({"site": "site.yaml", "devices": {BACNET_DEVICE: template.devices[BACNET_DEVICE]},
                                    "points": points})


def bacnet_points(point_map: PointMap) -> list[Point]:
    return [point for point in point_map.points if point.device == BACNET_DEVICE]


def run_served(body: Body, point_map: PointMap | None = None) -> None:
    """Run ``body(store, client, point_map)`` against the map's BACnet device served from a fresh store."""
    point_map = point_map or two_hall_map()
    store = PointStore(point_map)

    async def served() -> None:
        async with BacnetServer(store, point_map.devices[BACNET_DEVICE], bacnet_points(point_map)), \
                BacnetClient(point_map.devices) as client:
            await body(store, client, point_map)

    asyncio.run(asyncio.wait_for(served(), TEST_BOUND_S))


def published(point_map: PointMap) -> dict[str, float]:
    """A distinct value for every point, in the registry's units (the kW point in W)."""
    values = {point.name: 10.0 + index for index, point in enumerate(point_map.points)}
    values[KW_POINT] = 123_456.0
    return values


def point(point_map: PointMap, name: str) -> Point:
    found = point_map.point(name)
    assert found is not None
    return found


# -- reads ---------------------------------------------------------------------------------------------------
def test_every_point_of_the_template_reads_back_in_registry_units() -> None:
    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        values = published(point_map)
        store.publish(values)
        read = await client.read(bacnet_points(point_map))
        assert client.last_errors == {}
        # BACnet's REAL is IEEE 754 single precision (clause 20.2.6): about 7 significant digits
        assert read == {name: pytest.approx(values[name], rel=1e-6) for name in read}
        assert point(point_map, KW_POINT).unit == "kW" and read[KW_POINT] == pytest.approx(123_456.0, rel=1e-6)
        # on the wire: the object's name is the point's, its units the point's (kW), its value in those units
        stack, address = client._stack(), point_map.devices[BACNET_DEVICE].address
        objid = object_identifier(point(point_map, KW_POINT))
        assert await stack.read_property(address, objid, "objectName") == KW_POINT
        assert await stack.read_property(address, objid, "units") == EngineeringUnits.kilowatts
        assert await stack.read_property(address, objid, "presentValue") == pytest.approx(123.456, rel=1e-6)

    run_served(body)


def test_the_objects_carry_the_points_engineering_units() -> None:
    units = {point.name: engineering_units(point) for point in bacnet_points(two_hall_map())}
    assert units[KW_POINT] == EngineeringUnits.kilowatts
    assert units[SENSOR] == EngineeringUnits.degreesCelsius
    assert units["East Hall/inlet_relative_humidity_pct"] == EngineeringUnits.percentRelativeHumidity
    assert units[HEARTBEAT] == EngineeringUnits.noUnits and units["clock"] == EngineeringUnits.minutes


def test_a_point_with_nothing_published_reads_none_with_a_reason() -> None:
    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        assert await client.read([point(point_map, SENSOR)]) == {SENSOR: None}
        assert "NaN" in client.last_errors[SENSOR]

    run_served(body)


def test_a_point_the_device_lacks_reads_none_with_a_reason_and_the_others_still_read() -> None:
    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        store.publish({SENSOR: 21.5})
        missing = point(point_map, SENSOR).model_copy(update={"name": "outdoor_wet_bulb_c", "instance": 4000})
        assert await client.read([missing, point(point_map, SENSOR)]) == {"outdoor_wet_bulb_c": None, SENSOR: 21.5}
        assert "unknown-object" in client.last_errors["outdoor_wet_bulb_c"]
        # a request of only unknown objects is refused as a whole (clause 15.7): still None, not a raise
        assert await client.read([missing]) == {"outdoor_wet_bulb_c": None}
        assert "unknown-object" in client.last_errors["outdoor_wet_bulb_c"]

    run_served(body)


# -- writes and the priority array ---------------------------------------------------------------------------
def test_the_operator_at_8_wins_over_the_agent_at_13_and_relinquishing_falls_back() -> None:
    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        setpoint = point(point_map, SETPOINT)
        store.publish({SETPOINT: 16.0})  # the building's own sequence: the relinquish default
        await client.write(setpoint, 18.0, 13)
        await client.write(setpoint, 20.0, 8)
        assert await client.read([setpoint]) == {SETPOINT: 20.0}
        slots = await client.priority_array(setpoint)
        assert slots[7] == 20.0 and slots[12] == 18.0 and sum(slot is not None for slot in slots) == 2
        await client.relinquish(setpoint, 8)
        assert await client.read([setpoint]) == {SETPOINT: 18.0}
        await client.relinquish(setpoint, 13)
        assert await client.read([setpoint]) == {SETPOINT: 16.0}
        assert await client.relinquish_default(setpoint) == 16.0
        assert store.priority_array(SETPOINT) == (None,) * 16

    run_served(body)


def test_a_write_without_priority_is_at_16_and_a_null_without_priority_relinquishes_it() -> None:
    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        setpoint = point(point_map, SETPOINT)
        device = point_map.devices[BACNET_DEVICE]
        # bacpypes3's own call, without a priority: the client's API always names one
        stack = client._stack()
        await stack.write_property(device.address, object_identifier(setpoint), "presentValue", 19.0)
        assert store.priority_array(SETPOINT)[15] == 19.0
        # a Null without a priority: bacpypes3's write_property will not send one, so the request is built here
        await stack.request(WritePropertyRequest(objectIdentifier=object_identifier(setpoint),
                                                 propertyIdentifier="presentValue", propertyValue=Null(()),
                                                 destination=Address(device.address)))
        assert store.priority_array(SETPOINT)[15] is None

    run_served(body)


def test_writing_an_analog_input_is_refused_and_the_store_is_unchanged() -> None:
    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        store.publish({SENSOR: 21.5})
        with pytest.raises(WriteRejectedError, match="write-access-denied"):
            await client.write(point(point_map, SENSOR), 99.0, 13)
        assert store.read(SENSOR) == 21.5
        assert await client.read([point(point_map, SENSOR)]) == {SENSOR: 21.5}

    run_served(body)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_write_is_refused(value: float) -> None:
    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        with pytest.raises(WriteRejectedError, match="value-out-of-range"):
            await client.write(point(point_map, SETPOINT), value, 13)
        assert store.priority_array(SETPOINT) == (None,) * 16

    run_served(body)


# -- change of value -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("confirmed", [False, True])
def test_a_cov_subscriber_hears_a_change_published_from_another_thread(confirmed: bool) -> None:
    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        store.publish({KW_POINT: 100_000.0})
        heard: asyncio.Queue[tuple[str, float | None]] = asyncio.Queue()
        subscription = await client.subscribe_cov([point(point_map, KW_POINT)], 60,
                                                  lambda name, value: heard.put_nowait((name, value)),
                                                  confirmed=confirmed)
        name, value = await asyncio.wait_for(heard.get(), NOTIFICATION_WAIT_S)  # the notification on subscribing
        assert name == KW_POINT and value == pytest.approx(100_000.0, rel=1e-6)
        building = threading.Thread(target=store.publish, args=({KW_POINT: 150_000.0},))
        building.start()
        building.join(NOTIFICATION_WAIT_S)
        name, value = await asyncio.wait_for(heard.get(), NOTIFICATION_WAIT_S)
        assert name == KW_POINT and value == pytest.approx(150_000.0, rel=1e-6)
        await subscription.cancel()

    run_served(body)


def test_a_cov_subscription_is_renewed_before_its_lifetime_ends() -> None:
    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        heard: asyncio.Queue[float | None] = asyncio.Queue()
        await client.subscribe_cov([point(point_map, SENSOR)], 1, lambda _, value: heard.put_nowait(value))
        await asyncio.wait_for(heard.get(), NOTIFICATION_WAIT_S)
        await asyncio.sleep(1.6)  # past the 1 s lifetime: only the renewals keep the subscription
        while not heard.empty():
            heard.get_nowait()  # the renewals' own notifications
        store.publish({SENSOR: 25.0})
        assert await asyncio.wait_for(heard.get(), NOTIFICATION_WAIT_S) == 25.0
        assert SENSOR not in client.last_errors

    run_served(body)


def test_a_cov_subscription_to_an_object_the_device_lacks_is_refused() -> None:
    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        missing = point(point_map, SENSOR).model_copy(update={"instance": 4000})
        with pytest.raises(SubscriptionRefusedError, match="unknown-object"):
            await client.subscribe_cov([point(point_map, KW_POINT), missing], 60, lambda name, value: None)
        assert client._subscriptions == []  # the point that was subscribed is cancelled again

    run_served(body)


# -- the device that is not there, and the port that is taken ------------------------------------------------
def test_a_device_nobody_serves_is_unreachable_within_its_timeout() -> None:
    timeout_s = 0.5
    device = Device(protocol="bacnet", address=f"127.0.0.1:{free_udp_port()}", device_instance=599,
                    timeout_s=timeout_s)
    sensor = point(two_hall_map(), SENSOR)
    setpoint = point(two_hall_map(), SETPOINT)

    async def body() -> None:
        async with BacnetClient({BACNET_DEVICE: device}) as client:
            started = time.monotonic()
            assert await client.read([sensor]) == {SENSOR: None}
            assert "did not answer within 0.5 s" in client.last_errors[SENSOR]
            with pytest.raises(DeviceUnreachableError, match="did not answer"):
                await client.write(setpoint, 18.0, 13)
            assert time.monotonic() - started < 2 * timeout_s + 0.5

    asyncio.run(asyncio.wait_for(body(), TEST_BOUND_S))


def test_a_second_server_on_a_port_in_use_fails_at_once() -> None:
    point_map = two_hall_map()
    store = PointStore(point_map)
    device = point_map.devices[BACNET_DEVICE]

    async def body() -> None:
        first = await serve_bacnet(store, device, bacnet_points(point_map))
        try:
            with pytest.raises(BacnetBindError, match="cannot bind"):
                await serve_bacnet(store, device, bacnet_points(point_map))
        finally:
            await first.close()

    asyncio.run(asyncio.wait_for(body(), TEST_BOUND_S))


# -- speed ---------------------------------------------------------------------------------------------------
def test_one_hundred_points_read_well_inside_a_control_step() -> None:
    point_map = hundred_point_map()
    assert len(bacnet_points(point_map)) == 100

    async def body(store: PointStore, client: BacnetClient, point_map: PointMap) -> None:
        store.publish(published(point_map))
        durations_s: list[float] = []
        for _ in range(10):
            started = time.perf_counter()
            read = await client.read(bacnet_points(point_map))
            durations_s.append(time.perf_counter() - started)
            assert None not in read.values()
        # about 0.15 s on two shared cores, nearly all of it bacpypes3 encoding and decoding on both sides
        assert statistics.median(durations_s) < 0.5

    run_served(body, point_map)

