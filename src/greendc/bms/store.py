"""A building's points as its BMS holds them: present values, priority arrays and the agent's watchdog.

Each writable point has a 16-slot priority array (ASHRAE 135 clause 19.2): a write puts a value in one slot,
writing null ("relinquish") empties it, and the present value is the value of the highest-priority (lowest
number) non-empty slot, or the relinquish default when all are empty. In the virtual building the relinquish
default is what the building's own sequence holds at the moment, so an empty array means "the building's own
control".

The watchdog: once an agent has written the heartbeat, a heartbeat older than the timeout makes the store
relinquish the agent's slot of every point (the building goes back to its own sequence) and count a trip. The
building reports when it next ran on its own sequence, so that each return to local control is timed. An
agent that relinquishes its heartbeat has signed off (it gives its points back first): nothing is watched
until it writes a heartbeat again.

Values are kept in the registry's units (C, W, %); the protocol servers read and write through a point's
own unit (:meth:`PointStore.read_wire`, :meth:`PointStore.write_wire`). A store is shared by the building's
simulation thread and the servers' event loop, so every method takes one lock, and listeners (a server's way
of pushing changes, such as BACnet COV) are called after the lock is released.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from greendc.bms.points import HEARTBEAT, Point, PointMap
from greendc.errors import GreendcError

PRIORITY_SLOTS = 16


class WriteRejectedError(GreendcError):
    """A write the building refuses (a read-only point, an unknown point, a priority outside 1-16, a value
    that is not a finite number); the servers answer it with the protocol's own error."""


@dataclass
class _Stored:
    point: Point
    value: float | None = None  # a read-only point's value, or a writable point's relinquish default
    slots: list[float | None] = field(default_factory=lambda: [None] * PRIORITY_SLOTS)

    def present_value(self) -> float | None:
        if self.point.writable:
            return next((slot for slot in self.slots if slot is not None), self.value)
        return self.value


@dataclass(frozen=True)
class WatchdogSummary:
    """What the watchdog did during a run."""

    agent_writes: int
    watchdog_trips: int
    #: For each trip: seconds from the last heartbeat to the first step the building ran on its own sequence.
    return_to_local_s: tuple[float, ...]


class PointStore:
    """The points of one building (see the module docstring)."""

    def __init__(self, point_map: PointMap, agent_priority: int = 13, watchdog_timeout_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 1 <= agent_priority <= PRIORITY_SLOTS:
            raise WriteRejectedError(f"the agent's priority must be 1-16, not {agent_priority}")
        self.agent_priority = agent_priority
        self.watchdog_timeout_s = point_map.watchdog_timeout_s if watchdog_timeout_s is None else watchdog_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._points = {point.name: _Stored(point) for point in point_map.points}
        self._listeners: list[Callable[[], None]] = []
        self._last_heartbeat: float | None = None
        self._heartbeat_value: float | None = None
        self._tripped_at: float | None = None  # the last heartbeat time of a trip not yet back on local control
        self._agent_writes = 0
        self._trips = 0
        self._returns: list[float] = []

    # -- what the servers use -------------------------------------------------------------------------
    @property
    def points(self) -> list[Point]:
        return [stored.point for stored in self._points.values()]

    def read(self, name: str) -> float | None:
        """A point's present value in the registry's unit (None: nothing published yet)."""
        with self._lock:
            return self._stored(name).present_value()

    def read_wire(self, name: str) -> float | None:
        """A point's present value in its own unit, as it goes on the wire."""
        with self._lock:
            stored = self._stored(name)
            value = stored.present_value()
        return None if value is None else stored.point.from_registry_unit(value)

    def priority_array(self, name: str) -> tuple[float | None, ...]:
        """A writable point's 16 slots, in its own unit (slot 1 first)."""
        with self._lock:
            stored = self._stored(name)
            return tuple(None if v is None else stored.point.from_registry_unit(v) for v in stored.slots)

    def relinquish_default_wire(self, name: str) -> float | None:
        with self._lock:
            stored = self._stored(name)
        return None if stored.value is None else stored.point.from_registry_unit(stored.value)

    def write_wire(self, name: str, value: float | None, priority: int) -> None:
        """Write a value in the point's own unit at ``priority`` (None relinquishes the slot)."""
        point = self._stored_unlocked(name).point
        self.write(name, None if value is None else point.to_registry_unit(value), priority)

    def write(self, name: str, value: float | None, priority: int) -> None:
        """Write a value in the registry's unit at ``priority`` (None relinquishes the slot)."""
        if not 1 <= priority <= PRIORITY_SLOTS:
            raise WriteRejectedError(f"priority {priority} is outside 1-16")
        if value is not None and not math.isfinite(value):
            raise WriteRejectedError(f"{name}: {value} is not a finite number")
        with self._lock:
            stored = self._stored(name)
            if not stored.point.writable:
                raise WriteRejectedError(f"{name} is read-only")
            stored.slots[priority - 1] = value
            if priority == self.agent_priority:
                self._agent_writes += 1
            if name == HEARTBEAT and value is None and priority == self.agent_priority:
                # The agent signed off after giving its points back: there is nothing left to watch.
                self._heartbeat_value, self._last_heartbeat, self._tripped_at = None, None, None
            elif name == HEARTBEAT and value is not None and value != self._heartbeat_value:
                self._heartbeat_value, self._last_heartbeat = value, self._clock()
        self._notify()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (without arguments, from whichever thread changed the store) after every change."""
        with self._lock:
            self._listeners.append(listener)

    # -- what the building uses -----------------------------------------------------------------------
    def publish(self, values: Mapping[str, float | None]) -> None:
        """The building's readings, and for setpoints what its own sequence holds (the relinquish default),
        in the registry's units; names the map lacks are ignored."""
        with self._lock:
            for name, value in values.items():
                stored = self._points.get(name)
                if stored is not None:
                    stored.value = value
        self._notify()

    def command(self, name: str) -> float | None:
        """The value of the highest-priority command of a writable point (None: no command, own control)."""
        with self._lock:
            stored = self._points.get(name)
            if stored is None:
                return None
            return next((slot for slot in stored.slots if slot is not None), None)

    def commanded_names(self, names: Iterable[str]) -> list[str]:
        with self._lock:
            return [n for n in names if n in self._points and any(s is not None for s in self._points[n].slots)]

    def check_watchdog(self) -> bool:
        """Relinquish the agent's slot everywhere if its heartbeat is older than the timeout; True on a trip.

        After a trip the watchdog re-arms when a newer heartbeat arrives (an agent that came back)."""
        with self._lock:
            if self._tripped_at is not None and self._last_heartbeat is not None \
                    and self._last_heartbeat > self._tripped_at and len(self._returns) == self._trips:
                self._tripped_at = None
            if self._last_heartbeat is None or self._tripped_at is not None:
                return False
            if self._clock() - self._last_heartbeat <= self.watchdog_timeout_s:
                return False
            slot = self.agent_priority - 1
            for stored in self._points.values():
                stored.slots[slot] = None
            self._trips += 1
            self._tripped_at = self._last_heartbeat
        self._notify()
        return True

    def note_local_control(self) -> None:
        """The building ran a step on its own sequence: time the return of a pending trip."""
        with self._lock:
            if self._tripped_at is not None and len(self._returns) < self._trips:
                self._returns.append(self._clock() - self._tripped_at)

    def summary(self) -> WatchdogSummary:
        with self._lock:
            return WatchdogSummary(self._agent_writes, self._trips, tuple(self._returns))

    # -- inside ---------------------------------------------------------------------------------------
    def _stored(self, name: str) -> _Stored:
        stored = self._points.get(name)
        if stored is None:
            raise WriteRejectedError(f"no point {name!r} in this building")
        return stored

    def _stored_unlocked(self, name: str) -> _Stored:
        with self._lock:
            return self._stored(name)

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
