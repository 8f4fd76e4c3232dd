"""A client that speaks to a point store in-process: the agent's logic tested without the protocols."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from greendc.agent.client import Refusal
from greendc.bms.points import Point, PointMap
from greendc.bms.store import PointStore, WriteRejectedError
from greendc.site.schema import Site
from greendc.workflows.virtual_building import BuildingRun, serve_building


class RunningBuilding:
    """A virtual building started in this event loop and listening: ``stopped()`` ends it and returns its run."""

    def __init__(self, task: asyncio.Task[BuildingRun], stop: threading.Event) -> None:
        self.task, self.stop = task, stop

    async def stopped(self, timeout_s: float = 60.0) -> BuildingRun:
        self.stop.set()
        return await asyncio.wait_for(self.task, timeout_s)


async def start_building(site: Site, site_dir: Path, point_map: PointMap, slot_s: float, store: PointStore,
                         serve_protocols: bool = True) -> RunningBuilding:
    """Serve ``site`` at one 15-minute step per ``slot_s`` wall seconds; return once it is ready."""
    loop = asyncio.get_running_loop()
    ready, stop = asyncio.Event(), threading.Event()
    task = asyncio.create_task(serve_building(site, site_dir, point_map, 900.0 / slot_s, stop=stop, store=store,
                                              serve_protocols=serve_protocols,
                                              on_ready=lambda: loop.call_soon_threadsafe(ready.set)))
    await asyncio.wait_for(ready.wait(), 60)
    return RunningBuilding(task, stop)


class StoreClient:
    """The :class:`greendc.agent.client.BmsClient` interface over a :class:`PointStore` (no wire)."""

    def __init__(self, store: PointStore) -> None:
        self.store = store
        self.problems: dict[str, str] = {}
        self.unreachable: dict[str, str] = {}
        self.down = False
        self.writes: list[tuple[str, float | None, int]] = []

    async def read(self, points: list[Point]) -> dict[str, float | None]:
        if self.down:
            self.unreachable["bms"] = "TimeoutError"
            return {point.name: None for point in points}
        self.unreachable.clear()
        return {point.name: self.store.read(point.name) for point in points}

    async def write(self, point: Point, value: float, priority: int) -> str | None:
        return self._request(point.name, value, priority)

    async def relinquish(self, point: Point, priority: int) -> str | None:
        return self._request(point.name, None, priority)

    def _request(self, name: str, value: float | None, priority: int) -> str | None:
        if self.down:
            return "TimeoutError: no answer"
        try:
            self.store.write(name, value, priority)
        except WriteRejectedError as error:
            return Refusal(str(error))  # the building answered and refused, as BmsClient reports it
        self.writes.append((name, value, priority))
        return None
