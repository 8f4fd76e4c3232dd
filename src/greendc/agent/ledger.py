"""The agent's ledger of commanded points, kept on disk so that no command outlives the agent that wrote it.

Before the agent writes a setpoint it records the point and its priority here (write-ahead: a crash between
the two leaves an entry for a command that may not exist, never a command without an entry); once a point is
relinquished its entry goes. A restarted agent relinquishes every entry it finds before it acts, which is how
the leftovers of an agent killed with ``kill -9`` are cleaned up. A ledger that cannot be read is treated as
naming every writable point of the map: relinquishing a point that holds no command is harmless.
"""

from __future__ import annotations

import json
from pathlib import Path

from greendc.atomic import write_json_atomic
from greendc.bms.points import PointMap

LEDGER_FILE = "commanded-points.json"
_KIND = "greendc agent ledger"


class Ledger:
    """Commanded points (name -> priority) of one point map, mirrored to ``path`` on every change."""

    def __init__(self, path: Path, point_map: PointMap) -> None:
        self.path = Path(path)
        self.point_map = point_map
        self.unreadable = False
        self.entries: dict[str, int] = self._read()

    def _read(self) -> dict[str, int]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("kind") != _KIND or not isinstance(data.get("points"), dict):
                raise ValueError("not a ledger")
            names = {point.name for point in self.point_map.points}
            return {str(name): int(priority) for name, priority in data["points"].items() if name in names}
        except (OSError, ValueError, TypeError, AttributeError):
            self.unreadable = True
            return {p.name: p.write_priority for p in self.point_map.points if p.writable}

    def record(self, name: str, priority: int) -> None:
        """Note a command about to be written (before it is)."""
        if self.entries.get(name) != priority:
            self.entries[name] = priority
            self._save()

    def forget(self, name: str) -> None:
        """Drop a point once it is relinquished."""
        if self.entries.pop(name, None) is not None:
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path, {"kind": _KIND, "points": dict(sorted(self.entries.items()))})
