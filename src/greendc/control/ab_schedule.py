"""Randomized A/B switching: a candidate controller and a baseline take turns in charge of the site, in
blocks of whole days, so that a saving is measured within one period, under the same weather and load,
rather than against another year.

This is a switchback (crossover) experiment (Bojinov, Simchi-Levi and Zhao 2023, "Design and analysis of
switchback experiments", Management Science 69(7)) laid out as a randomized block design with pairs (Box,
Hunter and Hunter, *Statistics for Experimenters*, 2nd ed. 2005, ch. 3-4: paired comparisons and blocking):
blocks are numbered from the schedule's first day, blocks ``2k`` and ``2k + 1`` form pair ``k``, and a fair
coin per pair says which arm goes first. Every pair holds one candidate and one baseline block, so the arms'
counts differ by at most one block and both arms see the same weeks and seasons, at most two blocks apart,
while no one can foresee (and work around) the next pair's order. The coin is a hash of the seed and the
pair (as online experiments assign units, Kohavi, Tang and Xu 2020, *Trustworthy Online Controlled
Experiments*): the same seed gives the same schedule on any machine and for any length of run, so a live
agent that restarts follows the schedule it started with.

Blocks start at local midnight of the run calendar (the clock of the telemetry's ``time`` column, a year
without a leap day: ``greendc.telemetry.faults.CALENDAR_YEAR``; observations carry no year, so the blocks
start again every 1 January and a wall-clock 29 February counts with 1 March). Control changes hands at the
first step of a block. The halls' and the plant's thermal mass carry the last arm's setpoints into the first
hours after each switch, so the verification of the saving discards a settling period after every switch:
blocks must be whole days (a block of a few hours would be mostly settling), and longer blocks lose less.

Time stamps: a step is in the block of the day it *starts* in. The controller decides the next step at the
end of this one (an observation at 24:00 decides the day's first step, so the new arm decides it); a
telemetry row, stamped at the end of its interval, was under the arm of its interval's start
(:meth:`ABSchedule.arms_of_rows`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from greendc.control.registry import CONTROLLERS, make_controller
from greendc.errors import UsageError
from greendc.telemetry.contract import Action, ControlContext, Controller, Observation
from greendc.telemetry.faults import CALENDAR_YEAR
from greendc.telemetry.schema import BASELINE, CANDIDATE, Arm

#: What ``--schedule`` takes: ``ab`` (seed 0) or ``ab:SEED``.
SCHEDULE_KIND = "ab"
CALENDAR_DAYS = 365
_DAYS_BEFORE_MONTH = np.array([(date(CALENDAR_YEAR, month, 1) - date(CALENDAR_YEAR, 1, 1)).days
                               for month in range(1, 13)])
# The same as plain ints for the one lookup per control step (a numpy scalar costs several times more).
_DAYS_BEFORE = tuple(_DAYS_BEFORE_MONTH.tolist())


def calendar_day(month: int, day: int) -> int:
    """The day of the run calendar a date falls on: 0 for 1 January, 364 for 31 December."""
    return _DAYS_BEFORE[month - 1] + day - 1


def next_step_day(observation: Observation) -> int:
    """The run-calendar day of the step an observation decides: the one that starts at its end (an
    observation at hour 23, minute 60 decides the next day's first step)."""
    ends_at_midnight = (observation.hour * 60 + observation.minute) // 1440
    return (calendar_day(observation.month, observation.day) + ends_at_midnight) % CALENDAR_DAYS


def _candidate_first(seed: int, pair: int) -> bool:
    # One bit of a cryptographic hash: uniform, independent from pair to pair, the same on every platform.
    return hashlib.sha256(f"greendc-ab/{seed}/{pair}".encode()).digest()[0] < 128


@dataclass(frozen=True)
class ABBlock:
    """One block of a schedule within a run: from midnight ``start`` to ``end`` (exclusive), under ``arm``."""

    index: int
    start: datetime
    end: datetime
    arm: Arm


#: Days per block unless asked otherwise. Trim-respond needs some 12 hours to settle after a switch (measured
#: in ``bench/verify.py``) and verification leaves them out; with 1-day blocks every morning would be unsettled
#: in both arms, and ``greendc verify --ab`` refuses that. 3-day blocks keep 60 of each 72 hours.
DEFAULT_BLOCK_DAYS = 3


@dataclass(frozen=True)
class ABSchedule:
    """Which arm is in charge on each day (see the module docstring): pure, and the same for a seed."""

    seed: int = 0
    block_days: int = DEFAULT_BLOCK_DAYS
    #: The run-calendar day (0: 1 January) block 0 starts on.
    origin_day: int = 0

    def __post_init__(self) -> None:
        if self.seed < 0 or not 1 <= self.block_days <= CALENDAR_DAYS or not 0 <= self.origin_day < CALENDAR_DAYS:
            raise ValueError(f"an A/B schedule needs seed >= 0, block_days 1-{CALENDAR_DAYS} and origin_day "
                             f"0-{CALENDAR_DAYS - 1}, not {self}")

    @property
    def first_block_day(self) -> str:
        """The day block 0 starts on, as ``MM-DD``."""
        return (date(CALENDAR_YEAR, 1, 1) + timedelta(days=self.origin_day)).strftime("%m-%d")

    def block_of_day(self, day: int) -> int:
        return (day - self.origin_day) // self.block_days

    def arm_of_block(self, block: int) -> Arm:
        """Block ``2k`` and ``2k + 1`` hold one arm each, in the order pair ``k``'s coin says."""
        first_of_pair = block % 2 == 0
        return CANDIDATE if first_of_pair == _candidate_first(self.seed, block // 2) else BASELINE

    def arm_of_day(self, day: int) -> Arm:
        return self.arm_of_block(self.block_of_day(day))

    def arm_at(self, moment: datetime) -> Arm:
        """The arm of the step that starts at ``moment``."""
        return self.arm_of_day(calendar_day(moment.month, moment.day))

    def arms_of_rows(self, times: pd.Series, timestep_h: float) -> np.ndarray:
        """The arm each telemetry row was under: the arm of the step that ends at the row's time."""
        starts = pd.to_datetime(times) - pd.Timedelta(hours=timestep_h)
        days = _DAYS_BEFORE_MONTH[starts.dt.month.to_numpy() - 1] + starts.dt.day.to_numpy() - 1
        blocks = (days - self.origin_day) // self.block_days
        candidate = {block: self.arm_of_block(block) == CANDIDATE for block in np.unique(blocks).tolist()}
        return np.where([candidate[block] for block in blocks.tolist()], CANDIDATE, BASELINE)

    def blocks(self, start: datetime, end: datetime) -> list[ABBlock]:
        """The blocks from ``start`` to ``end`` (exclusive), the first and last cut to them."""
        found: list[ABBlock] = []
        day = datetime(start.year, start.month, start.day)
        while day < end:
            index = self.block_of_day(calendar_day(day.month, day.day))
            following = day + timedelta(days=1)
            if found and found[-1].index == index:
                found[-1] = ABBlock(index, found[-1].start, min(following, end), found[-1].arm)
            else:
                found.append(ABBlock(index, max(day, start), min(following, end), self.arm_of_block(index)))
            day = following
        return found


@dataclass(frozen=True)
class ABDesign:
    """An A/B comparison as the command line asks for it: the schedule's seed and block length, and the
    baseline controller (by name, with its constructor options) that the candidate takes turns with."""

    seed: int = 0
    block_days: int = DEFAULT_BLOCK_DAYS
    baseline: str = "default"
    baseline_options: dict[str, Any] = field(default_factory=dict)

    def schedule(self, origin_day: int = 0) -> ABSchedule:
        return ABSchedule(self.seed, self.block_days, origin_day)


def parse_ab_options(schedule: str | None, baseline: str | None = None,
                     block_days: int | None = None) -> ABDesign | None:
    """The design ``--schedule``, ``--ab-baseline`` and ``--ab-block-days`` ask for (None: no schedule).

    Raises :class:`UsageError` (one line naming the option and what it takes) for anything else.
    """
    if schedule is None:
        if baseline is not None or block_days is not None:
            raise UsageError("--ab-baseline and --ab-block-days need --schedule ab (or ab:SEED)")
        return None
    kind, _, seed_text = schedule.strip().partition(":")
    if kind != SCHEDULE_KIND or (":" in schedule and not (seed_text.isascii() and seed_text.isdigit())):
        raise UsageError(f"--schedule: must be ab or ab:SEED (SEED a whole number, 0 or more), not {schedule!r}")
    if baseline is not None and baseline not in CONTROLLERS:
        raise UsageError(f"--ab-baseline: unknown controller {baseline!r}; choose from {', '.join(CONTROLLERS)}")
    if block_days is not None and not 1 <= block_days <= CALENDAR_DAYS:
        raise UsageError(f"--ab-block-days: must be 1-{CALENDAR_DAYS} whole days, not {block_days}")
    return ABDesign(seed=int(seed_text or 0), block_days=block_days or DEFAULT_BLOCK_DAYS,
                    baseline=baseline or "default")


class ABSwitchingController:
    """The controller protocol around a candidate and a baseline, each in charge on its schedule's days.

    Each step goes to the arm in force (:attr:`arm`), whose action is returned unchanged. When a block of the
    other arm begins, that arm is **reset** (a fresh start with the run's context) and handed the step's
    observation at once; the arm that hands over is left alone until its next block, which again starts with
    a reset. So each block runs its controller as a freshly started one would, from the plant as it finds it:
    the ai's first decision searches around the setpoints in force (its rate limit counts from the
    baseline's), and the site's own control (``default``) has no state to restart.

    Why the idle arm does not keep watching: the ai's drift monitor compares what it predicted for its chosen
    setpoints with what was measured once they took effect. While the other arm is in charge its choices
    never take effect, so it would count the other arm's results as its model's error (widening its margin,
    handing over as ``model-drift``), and its log would fill with decisions nobody applied. Why it is not
    merely paused: its memory (the last inlets it trusted, the predictions awaiting their measurement, its
    fallback rule's setpoint) would be a block old when it comes back, and its first readings could look like
    faulty sensors (a jump since the last trusted inlet, far from a day-old prediction). What the reset costs:
    what an arm learned in one block does not carry into its next (the drift monitor's bias comes back within
    about ten comparisons; the ai's fallback rule starts again from its initial setpoint), as across two runs.

    ``decision_log`` holds both arms' decisions in order, across resets.
    """

    def __init__(self, candidate: Controller, baseline: Controller, schedule: ABSchedule) -> None:
        self.candidate, self.baseline, self.schedule = candidate, baseline, schedule
        self.name = f"{candidate.name} A/B {baseline.name}"
        #: The arm whose action is in force (the last to act); None before the run starts.
        self.arm: Arm | None = None
        self._in_force: Controller = baseline
        self._day = -1
        self._earlier_decisions: list[Any] = []

    def _controller(self, arm: Arm) -> Controller:
        return self.candidate if arm == CANDIDATE else self.baseline

    def reset(self, context: ControlContext) -> Action:
        # Both arms start with the run, so that either one's refusal (an ai model that does not fit the site)
        # ends the run before its first step, not at its first block.
        self._context = context
        actions = {BASELINE: self.baseline.reset(context), CANDIDATE: self.candidate.reset(context)}
        self._day, self._earlier_decisions = self.schedule.origin_day, []
        self.arm = self.schedule.arm_of_day(self._day)
        self._in_force = self._controller(self.arm)
        return actions[self.arm]

    def act(self, observation: Observation) -> Action:
        day = next_step_day(observation)
        if day != self._day:
            self._day = day
            arm = self.schedule.arm_of_day(day)
            if arm != self.arm:
                self._hand_over(arm)
        return self._in_force.act(observation)

    def _hand_over(self, arm: Arm) -> None:
        self._earlier_decisions += list(getattr(self._in_force, "decision_log", None) or [])
        # The reset's action is for a run's first step; this block's first step is the act that follows.
        self._in_force = self._controller(arm)
        self._in_force.reset(self._context)
        self.arm = arm

    @property
    def decision_log(self) -> list[Any] | None:
        """Both arms' decisions of this run, oldest first (None when neither logs decisions)."""
        if all(getattr(arm, "decision_log", None) is None for arm in (self.candidate, self.baseline)):
            return None
        return self._earlier_decisions + list(getattr(self._in_force, "decision_log", None) or [])

    def wait_until_ready(self) -> None:
        """Wait for whatever either arm prepares in the background (the ai's compiled search)."""
        for controller in (self.candidate, self.baseline):
            ready = getattr(controller, "wait_until_ready", None)
            if ready is not None:
                ready()


def switching_controller(candidate: str, candidate_options: dict[str, Any], design: ABDesign,
                         origin_day: int = 0) -> ABSwitchingController:
    """The registry's ``candidate`` and ``design.baseline`` switching on the design's schedule from ``origin_day``."""
    return ABSwitchingController(make_controller(candidate, **candidate_options),
                                 make_controller(design.baseline, **design.baseline_options),
                                 design.schedule(origin_day))
