"""One client for a whole point map: each protocol through its own client, every failure as a reason.

The agent reads and writes points by name without caring which device or protocol holds them. A device that
does not answer makes each of its points missing (None) with the reason kept in :attr:`BmsClient.problems`;
nothing a device does raises out of :meth:`BmsClient.read`, so the agent decides what a failure means.

A write or relinquish that fails comes back as its reason: a :class:`Refusal` when the device answered with
an error (the request was not carried out), a plain string when it did not answer (it may or may not have
been). The difference matters to the agent's ledger: a command the device refused is not in force.

BACnet/IP is connectionless, so its client (its UDP socket and COV subscriptions) is kept through any
number of timeouts; a Modbus TCP connection that timed out is dropped and made again by the next request,
so that a late answer is never taken for the next request's.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from typing import Any

from greendc.bms.points import Point, PointMap


def _protocol_client(protocol: str, point_map: PointMap) -> Any:
    if protocol == "bacnet":
        from greendc.bms.bacnet import BacnetClient

        return BacnetClient(point_map.devices)
    from greendc.bms.modbus import ModbusClient

    return ModbusClient(point_map)


#: The errors with which a device answers a request it does not carry out (rather than not answering).
_REFUSALS = frozenset({"WriteRejectedError", "RequestRefusedError", "BacnetRequestError", "RegisterValueError"})
#: The protocols whose client holds connections that a timeout may leave in an unknown state.
_CONNECTED = frozenset({"modbus"})


class Refusal(str):
    """The reason a device refused a write or relinquish: it answered, and the request was not carried out."""

    __slots__ = ()


class BmsClient:
    """Reads and writes the points of a map (an async context manager): one client per protocol, each
    speaking to all of that protocol's devices."""

    def __init__(self, point_map: PointMap) -> None:
        self.point_map = point_map
        self._clients: dict[str, Any] = {}
        self._stack = AsyncExitStack()
        #: Point name -> why its last read or write failed (cleared for a point that then succeeds).
        self.problems: dict[str, str] = {}
        #: Devices none of whose points answered the last read (unreachable, timed out, restarting).
        self.unreachable: dict[str, str] = {}
        #: Set by every change of value notified for a point of :meth:`watch` (the waiter clears it).
        self.changed = asyncio.Event()
        #: The last value notified for each watched point, in the registry's unit.
        self.notified: dict[str, float | None] = {}

    async def __aenter__(self) -> BmsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for client in list(self._clients.values()):
            with contextlib.suppress(Exception):  # a broken connection may fail to close in any way
                await asyncio.wait_for(client.__aexit__(None, None, None), timeout=2.0)
        self._clients.clear()

    async def _client(self, protocol: str) -> Any:
        client = self._clients.get(protocol)
        if client is None:
            client = _protocol_client(protocol, self.point_map)
            await asyncio.wait_for(client.__aenter__(), timeout=10.0)
            self._clients[protocol] = client
        return client

    async def _forget(self, protocol: str) -> None:
        """Drop a protocol's client after it failed as a whole, so that the next request starts afresh."""
        client = self._clients.pop(protocol, None)
        if client is not None:
            with contextlib.suppress(Exception):  # the connection is gone either way
                await asyncio.wait_for(client.__aexit__(None, None, None), timeout=2.0)

    def _timeout_s(self, points: list[Point]) -> float:
        return max(self.point_map.devices[p.device].timeout_s for p in points) * 2 + 1.0

    async def read(self, points: list[Point]) -> dict[str, float | None]:
        """Every point's value in the registry's unit, None where it could not be read."""
        by_protocol: dict[str, list[Point]] = {}
        for point in points:
            by_protocol.setdefault(self.point_map.devices[point.device].protocol, []).append(point)
        results = await asyncio.gather(*(self._read_protocol(protocol, group)
                                         for protocol, group in by_protocol.items()))
        values: dict[str, float | None] = {}
        for result in results:
            values.update(result)
        self._note_unreachable(points, values)
        return values

    async def _read_protocol(self, protocol: str, points: list[Point]) -> dict[str, float | None]:
        try:
            client = await self._client(protocol)
            values = await asyncio.wait_for(client.read(points), timeout=self._timeout_s(points))
            errors = dict(getattr(client, "last_errors", {}))
        except TimeoutError:
            # The whole read outlasted its bound (each device's own timeouts, twice, and a second): say so in
            # the words a device's own timeout uses, not as a bare "TimeoutError".
            await self._forget(protocol)
            reason = f"{protocol} devices did not answer within {self._timeout_s(points):g} s"
            values, errors = {}, {point.name: reason for point in points}
        except Exception as error:  # any failure of a device is a reason, never a crash
            await self._forget(protocol)
            values, errors = {}, {point.name: _reason(error) for point in points}
        for point in points:
            if values.get(point.name) is None:
                self.problems[point.name] = errors.get(point.name, "no value")
            else:
                self.problems.pop(point.name, None)
        return {point.name: values.get(point.name) for point in points}

    def _note_unreachable(self, points: list[Point], values: dict[str, float | None]) -> None:
        devices: dict[str, list[Point]] = {}
        for point in points:
            devices.setdefault(point.device, []).append(point)
        for device, group in devices.items():
            if all(values.get(point.name) is None for point in group):
                self.unreachable[device] = self.problems.get(group[0].name, "no answer")
            else:
                self.unreachable.pop(device, None)

    async def watch(self, points: list[Point], lifetime_s: float) -> str | None:
        """Subscribe to the changes of value of BACnet points (renewed every third of ``lifetime_s`` by the
        protocol client, which outlives the device's timeouts): each notification lands in :attr:`notified`
        and sets :attr:`changed`. The reason it could not, or None; a Modbus point cannot be watched."""
        if any(self.point_map.devices[point.device].protocol != "bacnet" for point in points):
            return "only BACnet points have change-of-value subscriptions"

        def heard(name: str, value: float | None) -> None:
            self.notified[name] = value
            self.changed.set()

        try:
            client = await self._client("bacnet")
            await asyncio.wait_for(client.subscribe_cov(points, lifetime_s, heard), timeout=self._timeout_s(points))
        except Exception as error:  # no subscription: the caller polls
            return _reason(error)
        return None

    async def write(self, point: Point, value: float, priority: int) -> str | None:
        """Write a value (registry unit); the reason it failed, or None."""
        return await self._request(point, "write", value, priority)

    async def relinquish(self, point: Point, priority: int) -> str | None:
        """Give a point back (BACnet: Null at the priority; Modbus: its enable coil off); the reason it
        failed, or None."""
        return await self._request(point, "relinquish", priority)

    async def _request(self, point: Point, verb: str, *arguments: Any) -> str | None:
        protocol = self.point_map.devices[point.device].protocol
        try:
            client = await self._client(protocol)
            await asyncio.wait_for(getattr(client, verb)(point, *arguments), timeout=self._timeout_s([point]))
        except Exception as error:  # reported to the agent, which decides
            if type(error).__name__ in _REFUSALS:
                return Refusal(_reason(error))
            if protocol in _CONNECTED and (isinstance(error, TimeoutError | ConnectionError)
                                           or type(error).__name__ == "DeviceUnreachableError"):
                await self._forget(protocol)
            return _reason(error)
        return None


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
