"""A client that speaks to a point store in-process: the agent's logic tested without the protocols."""

from __future__ import annotations

from greendc.agent.client import Refusal
from greendc.bms.points import Point
from greendc.bms.store import PointStore, WriteRejectedError


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
