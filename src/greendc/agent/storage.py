"""Live telemetry and decisions on disk, appended safely.

While the agent runs, every flush writes one new part file (``parts/part-000001.telemetry.parquet``, and
``.decisions.parquet`` for a controller that logs decisions), each written atomically (a temporary file
renamed into place), so that a crash loses at most the rows since the last flush and never corrupts what
was written. When the agent stops, and when a new agent starts on a folder a crashed one left, the parts
are merged into ``telemetry.parquet`` and ``decisions.parquet`` in the schema ``greendc train`` and
``greendc explain`` read, and only then removed. An agent on an A/B schedule (``greendc.control.ab_schedule``)
has each row say which arm was in control over the interval up to its readings (``ab_arm``), as the twin's
telemetry does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from greendc.atomic import write_file_atomic
from greendc.control.ab_schedule import ABSchedule
from greendc.telemetry.decisions import DecisionRecord, decisions_frame
from greendc.telemetry.schema import ARM_COLUMN

TELEMETRY_FILE = "telemetry.parquet"
DECISIONS_FILE = "decisions.parquet"
PARTS_FOLDER = "parts"


def _write_parquet(path: Path, frame: pd.DataFrame) -> None:
    write_file_atomic(path, lambda stream: frame.to_parquet(stream, index=False))


class LiveStorage:
    """The agent's output folder."""

    def __init__(self, out_dir: Path, ab_schedule: ABSchedule | None = None, timestep_h: float | None = None) -> None:
        self.out_dir = Path(out_dir)
        if ab_schedule is not None and timestep_h is None:
            raise ValueError("an A/B schedule needs the control step (timestep_h) to tell each row's arm")
        #: With a schedule, every row gets its arm (``ab_arm``): the arm of the control step that ends at its time.
        self.ab_schedule, self.timestep_h = ab_schedule, timestep_h
        self.parts_dir = self.out_dir / PARTS_FOLDER
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        self._rows: list[dict[str, Any]] = []
        self._decisions: list[DecisionRecord] = []
        existing = sorted(self.parts_dir.glob("part-*.parquet"))
        self._next = 1 + max((int(p.name.split(".")[0].split("-")[1]) for p in existing), default=0)

    def append(self, row: dict[str, Any], decisions: Sequence[DecisionRecord] = ()) -> None:
        self._rows.append(row)
        self._decisions.extend(decisions)

    @property
    def pending_rows(self) -> int:
        return len(self._rows)

    def flush(self) -> None:
        """Write the rows and decisions since the last flush as new part files."""
        if not self._rows and not self._decisions:
            return
        number = f"part-{self._next:06d}"
        if self._rows:
            frame = pd.DataFrame(self._rows)
            if self.ab_schedule is not None and self.timestep_h is not None:
                frame[ARM_COLUMN] = self.ab_schedule.arms_of_rows(frame["time"], self.timestep_h)
            _write_parquet(self.parts_dir / f"{number}.telemetry.parquet", frame)
        if self._decisions:
            _write_parquet(self.parts_dir / f"{number}.decisions.parquet", decisions_frame(self._decisions))
        self._next += 1
        self._rows, self._decisions = [], []

    def consolidate(self) -> None:
        """Merge every part (and what an earlier session merged) into the two files, then drop the parts."""
        self.flush()
        for kind, name in (("telemetry", TELEMETRY_FILE), ("decisions", DECISIONS_FILE)):
            parts = sorted(self.parts_dir.glob(f"part-*.{kind}.parquet"))
            if not parts:
                continue
            target = self.out_dir / name
            frames = [pd.read_parquet(target)] if target.exists() else []
            frames += [pd.read_parquet(part) for part in parts]
            merged = pd.concat(frames, ignore_index=True)
            if "time" in merged:
                merged = merged.drop_duplicates(subset="time", keep="last").sort_values("time", kind="stable")
            _write_parquet(target, merged.reset_index(drop=True))
            for part in parts:
                part.unlink()
