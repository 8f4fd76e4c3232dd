"""One client for a whole point map: each device through its protocol's client, every failure as a reason.

The agent reads and writes points by name without caring which device or protocol holds them. A device that
does not answer makes each of its points missing (None) with the reason kept in :attr:`BmsClient.problems`;
nothing a device does raises out of :meth:`BmsClient.read`, so the agent decides what a failure means.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from typing import Any

from greendc.bms.points import Device, Point, PointMap


def _protocol_client(device: Device) -> Any:
    if device.protocol == "bacnet":
        from greendc.bms.bacnet import BacnetClient

        return BacnetClient(device)
    from greendc.bms.modbus import ModbusClient

    return ModbusClient(device)


class BmsClient:
    """Reads and writes the points of a map (an async context manager)."""

    def __init__(self, point_map: PointMap) -> None:
        self.point_map = point_map
        self._clients: dict[str, Any] = {}
        self._stack = AsyncExitStack()
        #: Point name -> why its last read or write failed (cleared for a point that then succeeds).
        self.problems: dict[str, str] = {}
        #: Devices whose last request failed as a whole (unreachable, timed out).
        self.unreachable: dict[str, str] = {}

    async def __aenter__(self) -> BmsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._stack.aclose()
        self._clients.clear()

    async def _client(self, device_name: str) -> Any:
        client = self._clients.get(device_name)
        if client is None:
            client = _protocol_client(self.point_map.devices[device_name])
            await self._stack.enter_async_context(client)
            self._clients[device_name] = client
        return client

    async def _forget(self, device_name: str) -> None:
        """Drop a device's client after it failed, so that the next request reconnects."""
        client = self._clients.pop(device_name, None)
        if client is not None:
            # Closing a broken connection may fail in any way; the connection is gone either way.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.__aexit__(None, None, None), timeout=2.0)

    async def read(self, points: list[Point]) -> dict[str, float | None]:
        """Every point's value in the registry's unit, None where it could not be read."""
        by_device: dict[str, list[Point]] = {}
        for point in points:
            by_device.setdefault(point.device, []).append(point)
        results = await asyncio.gather(*(self._read_device(name, group) for name, group in by_device.items()))
        values: dict[str, float | None] = {}
        for result in results:
            values.update(result)
        return values

    async def _read_device(self, device_name: str, points: list[Point]) -> dict[str, float | None]:
        device = self.point_map.devices[device_name]
        try:
            client = await self._client(device_name)
            values = await asyncio.wait_for(client.read(points), timeout=device.timeout_s * 2 + 1.0)
        except Exception as error:  # any failure of a device is a reason, never a crash
            self.unreachable[device_name] = _reason(error)
            await self._forget(device_name)
            for point in points:
                self.problems[point.name] = f"device {device_name} unreachable: {_reason(error)}"
            return dict.fromkeys((point.name for point in points), None)
        self.unreachable.pop(device_name, None)
        errors = getattr(client, "last_errors", {})
        for point in points:
            if values.get(point.name) is None:
                self.problems[point.name] = errors.get(point.name, "no value")
            else:
                self.problems.pop(point.name, None)
        return {point.name: values.get(point.name) for point in points}

    async def write(self, point: Point, value: float, priority: int) -> str | None:
        """Write a value (registry unit); the reason it failed, or None."""
        return await self._request(point, "write", value, priority)

    async def relinquish(self, point: Point, priority: int) -> str | None:
        """Give a point back (BACnet: Null at the priority; Modbus: its enable coil off); the reason it
        failed, or None."""
        return await self._request(point, "relinquish", priority)

    async def _request(self, point: Point, verb: str, *arguments: Any) -> str | None:
        device = self.point_map.devices[point.device]
        try:
            client = await self._client(point.device)
            await asyncio.wait_for(getattr(client, verb)(point, *arguments), timeout=device.timeout_s * 2 + 1.0)
        except Exception as error:  # reported to the agent, which decides
            if _is_unreachable(error):
                self.unreachable[point.device] = _reason(error)
                await self._forget(point.device)
            return _reason(error)
        return None


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _is_unreachable(error: BaseException) -> bool:
    return isinstance(error, TimeoutError | ConnectionError | OSError) or type(error).__name__ == \
        "DeviceUnreachableError"
