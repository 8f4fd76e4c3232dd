"""Modbus TCP: register encoding, and the served store read and written over loopback.

Every test runs its own server on 127.0.0.1 with a port the OS picked, and bounds each wait: a test that
hangs fails within seconds instead of holding the suite.
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymodbus.client import AsyncModbusTcpClient

from greendc.bms.modbus import (
    DeviceUnreachableError,
    ModbusClient,
    ModbusServer,
    RegisterValueError,
    RequestRefusedError,
    decode_registers,
    encode_registers,
    read_requests,
)
from greendc.bms.points import Point, PointMap
from greendc.bms.store import PointStore
from greendc.bms.template import point_map_template
from greendc.errors import GreendcError
from greendc.site.loader import load_site
from tests.conftest import EXAMPLE_SITE

#: No test waits longer than this for anything.
TEST_TIMEOUT_S = 15.0
WEST = "West Hall"
SUPPLY = f"{WEST}/supply_air_setpoint_c"
ZONE_COOLING = f"{WEST}/zone_cooling_setpoint_c"
ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE = 2, 3


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), TEST_TIMEOUT_S))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def template_map(port: int) -> PointMap:
    site, _ = load_site(EXAMPLE_SITE)
    return point_map_template(site, "site.yaml", bacnet_address="127.0.0.1:1", modbus_address=f"127.0.0.1:{port}")


def modbus_points(point_map: PointMap) -> list[Point]:
    return [p for p in point_map.points if point_map.devices[p.device].protocol == "modbus"]


def fast(point_map: PointMap, timeout_s: float = 1.0) -> PointMap:
    """The map with every device's timeout set to ``timeout_s``."""
    data = point_map.model_dump()
    for device in data["devices"].values():
        device["timeout_s"] = timeout_s
    return PointMap.model_validate(data)


def point(**fields: Any) -> Point:
    return Point.model_validate({"name": "it_power_w", "device": "meter", "unit": "W", "register_address": 0,
                                 **fields})


def one_device_map(port: int, points: list[dict[str, Any]]) -> PointMap:
    return PointMap.model_validate({"site": "site.yaml", "devices": {
        "meter": {"protocol": "modbus", "address": f"127.0.0.1:{port}", "unit_id": 7, "timeout_s": 1.0}},
        "points": [{"device": "meter", **p} for p in points]})


def hundred_points(port: int) -> PointMap:
    """A device with 100 float32 input registers, 0-199."""
    return one_device_map(port, [{"name": f"Z{i // 2}/{c}", "unit": "degC", "register_address": 2 * i}
                                 for i, c in enumerate(["inlet_temp_c", "zone_air_temp_c"] * 50)])


# -- encoding ---------------------------------------------------------------------------------------------
ORDERS = st.sampled_from(["big", "little"])
INTEGER_TYPES = {"int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1), "int32": (-(2**31), 2**31 - 1),
                 "uint32": (0, 2**32 - 1)}
SCALES = st.sampled_from([1.0, 0.1, 0.01, 0.5, 10.0, 1000.0])


@settings(max_examples=300, deadline=None)
@given(data_type=st.sampled_from(sorted(INTEGER_TYPES)), scale=SCALES, byte_order=ORDERS, word_order=ORDERS,
       fraction=st.floats(0, 1))
def test_integer_registers_round_trip_within_half_a_step(data_type: str, scale: float, byte_order: str,
                                                         word_order: str, fraction: float) -> None:
    low, high = INTEGER_TYPES[data_type]
    p = point(data_type=data_type, scale=scale, byte_order=byte_order, word_order=word_order)
    value = (low + fraction * (high - low)) * scale
    words = encode_registers(value, p)
    assert len(words) == (2 if data_type.endswith("32") else 1)
    assert all(0 <= word <= 0xFFFF for word in words)
    # half a step, and the double's own rounding of value / scale and n * scale
    assert abs(decode_registers(words, p) - value) <= scale / 2 + abs(value) * 1e-12


@settings(max_examples=300, deadline=None)
@given(scale=SCALES, byte_order=ORDERS, word_order=ORDERS,
       raw=st.floats(-3e38, 3e38, allow_nan=False, allow_infinity=False))
def test_float32_registers_round_trip_within_float32_precision(scale: float, byte_order: str, word_order: str,
                                                               raw: float) -> None:
    p = point(data_type="float32", scale=scale, byte_order=byte_order, word_order=word_order)
    value = raw * scale
    decoded = decode_registers(encode_registers(value, p), p)
    assert math.isclose(decoded, value, rel_tol=2**-23, abs_tol=1e-44 * scale)


def test_the_orders_put_the_bytes_where_devices_expect_them() -> None:
    value = 0x11223344
    assert encode_registers(value, point(data_type="uint32")) == [0x1122, 0x3344]
    assert encode_registers(value, point(data_type="uint32", word_order="little")) == [0x3344, 0x1122]
    assert encode_registers(value, point(data_type="uint32", byte_order="little")) == [0x2211, 0x4433]
    assert encode_registers(1.0, point(data_type="float32")) == [0x3F80, 0x0000]  # IEEE 754, network order
    assert encode_registers(-1, point(data_type="int16")) == [0xFFFF]
    assert encode_registers(21.46, point(name="outdoor_dry_bulb_c", unit="degC", data_type="int16", scale=0.1)) \
        == [215]  # rounded to the nearest step


@pytest.mark.parametrize(("data_type", "value"), [("int16", 32768), ("int16", -32769), ("uint16", -1),
                                                  ("uint16", 65536), ("int32", 2**31), ("uint32", -0.6),
                                                  ("float32", 1e39), ("float32", math.nan), ("int16", math.inf)])
def test_values_the_registers_cannot_hold_are_refused_naming_the_point(data_type: str, value: float) -> None:
    with pytest.raises(RegisterValueError, match="it_power_w"):
        encode_registers(value, point(data_type=data_type))


def test_an_int16_at_scale_a_tenth_refuses_what_its_steps_cannot_reach() -> None:
    p = point(name="outdoor_dry_bulb_c", unit="degC", data_type="int16", scale=0.1)
    assert decode_registers(encode_registers(3276.7, p), p) == pytest.approx(3276.7)
    with pytest.raises(RegisterValueError, match=r"outdoor_dry_bulb_c.*int16"):
        encode_registers(3276.8, p)
    with pytest.raises(RegisterValueError, match="outdoor_dry_bulb_c"):
        decode_registers([1, 2], p)


def test_reads_are_the_fewest_runs_of_contiguous_registers() -> None:
    point_map = template_map(5020)
    reads = read_requests(modbus_points(point_map), point_map.devices)
    # the meter's three float32s (8-13); the CRAC's seven sensors (input 0-13) and two setpoints (holding 0-3)
    assert sorted((r.device.unit_id, r.kind, r.start, r.count) for r in reads) == [
        (1, "input", 8, 6), (2, "holding", 0, 4), (2, "input", 0, 14)]
    many = hundred_points(5020)
    assert [r.count for r in read_requests(many.points, many.devices)] == [124, 76]  # at most 125 a read


# -- server and client ------------------------------------------------------------------------------------
def published(point_map: PointMap) -> dict[str, float]:
    """A distinct value (registry units) for every point."""
    return {p.name: 1000.0 * (index + 1) if p.name.endswith("_w") else 10.0 + index
            for index, p in enumerate(point_map.points)}


def published_store() -> tuple[PointMap, PointStore]:
    """The two-hall map on a free port, and a store that holds every point's published value."""
    point_map = template_map(free_port())
    store = PointStore(point_map)
    store.publish(published(point_map))
    return point_map, store


def test_every_modbus_point_of_the_template_reads_back_in_registry_units() -> None:
    async def test() -> None:
        point_map = template_map(free_port())
        store = PointStore(point_map)
        values = published(point_map)
        store.publish(values)
        async with ModbusServer(point_map, store), ModbusClient(point_map) as client:
            read = await client.read(modbus_points(point_map))
        assert client.last_errors == {}
        assert read == pytest.approx({p.name: values[p.name] for p in modbus_points(point_map)})
        assert read["it_power_w"] == pytest.approx(values["it_power_w"])  # a kW register, read in W

    run(test)


def test_a_hundred_points_read_in_two_requests_while_the_building_changes_them() -> None:
    async def test() -> None:
        point_map = hundred_points(free_port())
        store = PointStore(point_map)
        names = [p.name for p in point_map.points]
        store.publish(dict.fromkeys(names, 20.0))
        stop = threading.Event()

        def building() -> None:  # the simulation thread publishing while the agent reads
            step = 0
            while not stop.is_set() and step < 100_000:
                step += 1
                store.publish({name: 20.0 + step % 2 for name in names})

        thread = threading.Thread(target=building)
        async with ModbusServer(point_map, store), ModbusClient(point_map) as client:
            thread.start()
            try:
                for _ in range(10):
                    read = await client.read(point_map.points)
                    assert set(read.values()) <= {20.0, 21.0}, client.last_errors  # never a torn float
            finally:
                stop.set()
                thread.join(TEST_TIMEOUT_S)

    run(test)


def test_a_written_setpoint_is_commanded_and_coil_0_relinquishes_it() -> None:
    async def test() -> None:
        point_map, store = published_store()
        supply = point_map.point(SUPPLY)
        assert supply is not None
        async with ModbusServer(point_map, store), ModbusClient(point_map) as client:
            assert not await client.command_enabled(supply)
            await client.write(supply, 18.5, priority=13)
            assert store.command(SUPPLY) == pytest.approx(18.5)
            assert store.priority_array(SUPPLY)[store.agent_priority - 1] == pytest.approx(18.5)
            assert await client.command_enabled(supply)
            assert (await client.read([supply]))[SUPPLY] == pytest.approx(18.5)
            await client.relinquish(supply, priority=13)
            assert store.command(SUPPLY) is None
            assert not await client.command_enabled(supply)

    run(test)


def test_after_the_watchdog_relinquishes_the_coil_reads_0() -> None:
    async def test() -> None:
        point_map, store = published_store()
        supply = point_map.point(SUPPLY)
        assert supply is not None
        async with ModbusServer(point_map, store), ModbusClient(point_map) as client:
            await client.write(supply, 19.0, priority=13)
            assert await client.command_enabled(supply)
            # what the building's watchdog does, from the building's thread
            watchdog = threading.Thread(target=store.write, args=(SUPPLY, None, store.agent_priority))
            watchdog.start()
            watchdog.join(TEST_TIMEOUT_S)
            assert not await client.command_enabled(supply)
            assert store.command(SUPPLY) is None

    run(test)


def test_a_register_written_while_the_coil_is_0_waits_for_the_coil() -> None:
    async def test() -> None:
        point_map, store = published_store()
        async with ModbusServer(point_map, store):
            raw = AsyncModbusTcpClient("127.0.0.1", port=point_map.devices["crac-1"].port, timeout=2, retries=0)
            await raw.connect()
            try:
                words = encode_registers(20.0, point_map.point(ZONE_COOLING))  # type: ignore[arg-type]
                assert not (await raw.write_registers(2, words, device_id=2)).isError()
                assert store.command(ZONE_COOLING) is None  # remote enable is off: only remembered
                assert not (await raw.write_coil(1, True, device_id=2)).isError()
                assert store.command(ZONE_COOLING) == pytest.approx(20.0)
                assert (await raw.read_coils(1, count=1, device_id=2)).bits[0]
            finally:
                raw.close()

    run(test)


def test_writes_the_store_refuses_or_the_server_lacks_answer_an_exception() -> None:
    async def test() -> None:
        point_map, store = published_store()
        before = store.read(f"{WEST}/zone_air_temp_c")
        async with ModbusServer(point_map, store):
            raw = AsyncModbusTcpClient("127.0.0.1", port=point_map.devices["crac-1"].port, timeout=2, retries=0)
            await raw.connect()
            try:
                # holding 8 is where the CRAC's zone_air_temp_c input register is: no holding register there
                refused = await raw.write_registers(8, [0x41A0, 0], device_id=2)
                assert refused.isError() and refused.exception_code == ILLEGAL_DATA_ADDRESS
                # the meter has no holding registers at all, and no coils
                refused = await raw.write_register(8, 1, device_id=1)
                assert refused.isError() and refused.exception_code == ILLEGAL_DATA_ADDRESS
                refused = await raw.write_coil(0, True, device_id=1)
                assert refused.isError() and refused.exception_code == ILLEGAL_DATA_ADDRESS
                # half of a float32 setpoint
                refused = await raw.write_register(1, 0, device_id=2)
                assert refused.isError() and refused.exception_code == ILLEGAL_DATA_ADDRESS
                # a NaN the store would not take, while the coil is on
                assert not (await raw.write_coil(0, True, device_id=2)).isError()
                refused = await raw.write_registers(0, [0x7FC0, 0], device_id=2)
                assert refused.isError() and refused.exception_code == ILLEGAL_DATA_VALUE
                # a unit id the map does not have
                refused = await raw.read_input_registers(0, count=2, device_id=9)
                assert refused.isError() and refused.exception_code == ILLEGAL_DATA_ADDRESS
            finally:
                raw.close()
        assert store.read(f"{WEST}/zone_air_temp_c") == before
        assert store.command(SUPPLY) == pytest.approx(published(point_map)[SUPPLY])  # the coil's, not the NaN

    run(test)


def test_an_int16_at_a_tenth_in_little_byte_order_round_trips_over_the_wire() -> None:
    async def test() -> None:
        point_map = one_device_map(free_port(), [
            {"name": "outdoor_dry_bulb_c", "unit": "degF", "register_address": 3, "data_type": "int16",
             "scale": 0.1, "byte_order": "little"},
            {"name": "heartbeat", "unit": "count", "register_address": 4, "data_type": "uint16"},
            {"name": "Z/supply_air_setpoint_c", "unit": "degC", "register_address": 5, "data_type": "int16",
             "scale": 0.1, "byte_order": "little", "word_order": "little", "enable_coil": 3, "min": 12,
             "max": 26}])
        store = PointStore(point_map)
        store.publish({"outdoor_dry_bulb_c": -12.34, "Z/supply_air_setpoint_c": 20.0})
        setpoint, heartbeat = point_map.point("Z/supply_air_setpoint_c"), point_map.point("heartbeat")
        assert setpoint is not None and heartbeat is not None
        async with ModbusServer(point_map, store), ModbusClient(point_map) as client:
            read = await client.read(point_map.points)
            assert read["outdoor_dry_bulb_c"] == pytest.approx(-12.34, abs=0.1 * 5 / 9 / 2 + 1e-9)  # 0.1 degF
            assert read["Z/supply_air_setpoint_c"] == pytest.approx(20.0)
            await client.write(setpoint, 17.26, priority=13)
            assert store.command("Z/supply_air_setpoint_c") == pytest.approx(17.3)
            await client.write(heartbeat, 42, priority=13)  # no coil: straight to the store
            assert store.command("heartbeat") == 42
            with pytest.raises(RegisterValueError, match="supply_air_setpoint_c"):
                await client.write(setpoint, 4000.0, priority=13)

    run(test)


def test_a_server_where_nothing_listens_is_unreachable_within_the_timeout() -> None:
    async def test() -> None:
        point_map = fast(template_map(free_port()), timeout_s=1.0)
        started = time.monotonic()
        with pytest.raises(DeviceUnreachableError, match="did not accept a connection") as raised:
            async with ModbusClient(point_map):
                pass
        assert isinstance(raised.value, GreendcError)
        assert time.monotonic() - started < 1.5

    run(test)


def test_a_point_the_server_lacks_reads_none_with_a_reason_and_the_others_still_read() -> None:
    async def test() -> None:
        port = free_port()
        served = one_device_map(port, [{"name": "it_power_w", "unit": "kW", "register_address": 0},
                                       {"name": "cooling_power_w", "unit": "kW", "register_address": 2}])
        # the agent's map has a point more, right after the served ones (one run) and one far away
        asked = one_device_map(port, [{"name": "it_power_w", "unit": "kW", "register_address": 0},
                                      {"name": "cooling_power_w", "unit": "kW", "register_address": 2},
                                      {"name": "facility_power_w", "unit": "kW", "register_address": 4},
                                      {"name": "outdoor_dry_bulb_c", "unit": "degC", "register_address": 900}])
        store = PointStore(served)
        store.publish({"it_power_w": 1500.0})  # cooling_power_w has no value yet
        async with ModbusServer(served, store), ModbusClient(asked) as client:
            read = await client.read(asked.points)
            assert read == {"it_power_w": pytest.approx(1500.0), "cooling_power_w": None,
                            "facility_power_w": None, "outdoor_dry_bulb_c": None}
            assert "ILLEGAL DATA ADDRESS" in client.last_errors["facility_power_w"]
            assert "ILLEGAL DATA ADDRESS" in client.last_errors["outdoor_dry_bulb_c"]
            assert "no value" in client.last_errors["cooling_power_w"]
            assert set(client.last_errors) == {"cooling_power_w", "facility_power_w", "outdoor_dry_bulb_c"}
            missing = asked.point("facility_power_w")
            with pytest.raises(RequestRefusedError, match="not a written holding register"):
                await client.write(missing, 1.0, priority=13)  # type: ignore[arg-type]

    run(test)


def test_a_server_that_went_away_gives_none_with_a_reason_and_writes_raise() -> None:
    async def test() -> None:
        point_map = fast(template_map(free_port()), timeout_s=1.0)
        store = PointStore(point_map)
        store.publish(published(point_map))
        server = ModbusServer(point_map, store)
        await server.start()
        async with ModbusClient(point_map) as client:
            await server.close()
            await asyncio.sleep(0.05)
            read = await client.read(modbus_points(point_map))
            assert set(read.values()) == {None}
            assert set(client.last_errors) == {p.name for p in modbus_points(point_map)}
            with pytest.raises(DeviceUnreachableError):
                await client.write(point_map.point(SUPPLY), 18.0, priority=13)  # type: ignore[arg-type]
            await server.start()  # the building is back: the next read reconnects
            read = await client.read(modbus_points(point_map))
            assert None not in read.values()
            await server.close()

    run(test)


def test_a_server_that_never_answers_gives_none_within_the_device_timeout() -> None:
    async def test() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # takes every request, answers none
            writer.close()

        listener = await asyncio.start_server(silent, "127.0.0.1", 0)
        point_map = fast(template_map(listener.sockets[0].getsockname()[1]), timeout_s=0.3)
        points = modbus_points(point_map)
        async with listener, ModbusClient(point_map) as client:
            started = time.monotonic()
            read = await client.read(points)
            assert set(read.values()) == {None}
            assert all("did not answer within 0.3 s" in client.last_errors[p.name] for p in points)
            assert time.monotonic() - started < 0.3 * 3 + 0.5  # one wait per server, not one per request
            with pytest.raises(DeviceUnreachableError, match="did not answer"):
                await client.write(point_map.point(SUPPLY), 18.0, priority=13)  # type: ignore[arg-type]

    run(test)


def test_a_busy_port_and_an_ambiguous_map_are_refused() -> None:
    async def test() -> None:
        port = free_port()
        point_map = template_map(port)
        async with ModbusServer(point_map, PointStore(point_map)):
            with pytest.raises(GreendcError, match="cannot listen"):
                await ModbusServer(point_map, PointStore(point_map)).start()
        with pytest.raises(GreendcError, match="no Modbus device"):
            ModbusServer(point_map, PointStore(point_map), address="127.0.0.1:1")

    run(test)
