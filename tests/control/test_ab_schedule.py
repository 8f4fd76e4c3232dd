"""Randomized A/B switching: the block schedule (deterministic, balanced in pairs, blocks of whole days from
midnight) and the controller that hands each step to the arm in force, resetting an arm when its block starts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from greendc.control.ab_schedule import (
    ABDesign,
    ABSchedule,
    ABSwitchingController,
    calendar_day,
    parse_ab_options,
)
from greendc.control.ai import AIController
from greendc.errors import UsageError
from greendc.telemetry.contract import Action, ControlContext, Observation
from greendc.telemetry.schema import ARM_COLUMN, BASELINE, CANDIDATE
from greendc.workflows.simulation import simulate
from tests.control.test_ai import CONTEXT, _observation

DAYS = 120


def _arms(schedule: ABSchedule, days: int = DAYS) -> list[str]:
    return [schedule.arm_of_day(schedule.origin_day + day) for day in range(days)]


def test_the_schedule_is_the_same_for_a_seed_and_another_for_another_seed() -> None:
    assert _arms(ABSchedule(seed=3)) == _arms(ABSchedule(seed=3))
    assert _arms(ABSchedule(seed=3)) != _arms(ABSchedule(seed=4))
    assert len(set(map(tuple, (_arms(ABSchedule(seed=seed)) for seed in range(10))))) == 10


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("block_days", [1, 2, 7])
def test_every_pair_of_blocks_holds_one_block_of_each_arm(seed: int, block_days: int) -> None:
    schedule = ABSchedule(seed=seed, block_days=block_days, origin_day=181)
    arms = [schedule.arm_of_block(block) for block in range(41)]
    assert all({arms[k], arms[k + 1]} == {CANDIDATE, BASELINE} for k in range(0, 40, 2))
    assert abs(arms.count(CANDIDATE) - arms.count(BASELINE)) <= 1
    # The order within pairs is random: some pairs start with each arm.
    firsts = {arms[k] for k in range(0, 40, 2)}
    assert firsts == {CANDIDATE, BASELINE}


@pytest.mark.parametrize("block_days", [1, 3, 7])
def test_blocks_are_whole_days_from_midnight_of_the_first_day(block_days: int) -> None:
    start = datetime(2001, 7, 1)
    schedule = ABSchedule(seed=5, block_days=block_days, origin_day=calendar_day(7, 1))
    blocks = schedule.blocks(start, start + timedelta(days=30))
    assert [block.index for block in blocks] == list(range(len(blocks)))
    assert blocks[0].start == start and blocks[-1].end == start + timedelta(days=30)
    for block in blocks:
        assert block.start.time() == block.end.time() == datetime.min.time()
        assert block.end - block.start == timedelta(days=block_days) or block is blocks[-1]
        days = (block.end - block.start).days
        assert {schedule.arm_at(block.start + timedelta(days=d, hours=13)) for d in range(days)} == {block.arm}
    counts = pd.Series([block.arm for block in blocks]).value_counts()
    assert abs(counts.get(CANDIDATE, 0) - counts.get(BASELINE, 0)) <= 1


def test_a_row_is_under_the_arm_of_the_step_it_ends_and_the_arm_changes_only_at_midnight() -> None:
    schedule = ABSchedule(seed=3, block_days=1, origin_day=calendar_day(7, 1))
    times = pd.Series(pd.date_range("2001-07-01 00:15", "2001-07-21 00:00", freq="15min"))
    arms = pd.Series(schedule.arms_of_rows(times, 0.25))
    changed = times[arms.ne(arms.shift()).to_numpy()].iloc[1:]
    assert len(changed) >= 5
    # The first row of a block is the step from 00:00 to 00:15; the row stamped 00:00 ends the day before.
    assert (changed.dt.hour == 0).all() and (changed.dt.minute == 15).all()
    assert all(arm == schedule.arm_at(time - timedelta(minutes=15)) for time, arm in zip(times, arms, strict=True))


def test_the_command_line_values_and_their_one_line_errors() -> None:
    assert parse_ab_options(None) is None
    assert parse_ab_options("ab") == ABDesign(seed=0, block_days=3, baseline="default")
    assert parse_ab_options("ab:42", "trim-respond", 7) == ABDesign(seed=42, block_days=7, baseline="trim-respond")
    for bad in ("", "ab:", "ab:x", "ab:-1", "ab:1.5", "abc", "AB", "random", "ab:3:4"):
        with pytest.raises(UsageError, match=r"^--schedule: must be ab or ab:SEED") as error:
            parse_ab_options(bad)
        assert "\n" not in str(error.value)
    with pytest.raises(UsageError, match="--ab-baseline: unknown controller 'magic'"):
        parse_ab_options("ab", "magic")
    with pytest.raises(UsageError, match="--ab-block-days: must be 1-365"):
        parse_ab_options("ab", None, 0)
    with pytest.raises(UsageError, match="need --schedule"):
        parse_ab_options(None, "rbc")


class _Fake:
    """A controller that answers every step with its own setpoint and keeps what happened to it."""

    def __init__(self, name: str, supply_c: float) -> None:
        self.name, self.action = name, Action(supply_air_setpoint_c={"West Hall": supply_c})
        self.resets, self.acted, self.decision_log = 0, [], []

    def reset(self, context: ControlContext) -> Action:
        self.resets += 1
        self.decision_log = []
        return self.action

    def act(self, observation: Observation) -> Action:
        self.acted.append((observation.day, observation.hour, observation.minute))
        self.decision_log.append((self.name, observation.day, observation.hour, observation.minute))
        return self.action


def _steps(days: int, start_day: int = 1) -> list[Observation]:
    """The observations of ``days`` July days at 15-minute steps, labelled as the runner labels them."""
    return [_observation(month=7, day=day, hour=quarter // 4, minute=15 * (quarter % 4 + 1))
            for day in range(start_day, start_day + days) for quarter in range(96)]


def test_each_step_goes_to_the_arm_in_force_and_an_arm_is_reset_when_its_block_starts() -> None:
    candidate, baseline = _Fake("candidate", 24.0), _Fake("baseline", 14.0)
    schedule = ABSchedule(seed=3, block_days=1, origin_day=calendar_day(7, 1))
    switching = ABSwitchingController(candidate, baseline, schedule)
    first = switching.reset(CONTEXT)
    arms = [schedule.arm_of_day(calendar_day(7, day)) for day in range(1, 8)]
    assert first == (candidate if arms[0] == CANDIDATE else baseline).action
    assert candidate.resets == baseline.resets == 1  # both start with the run
    decided = []
    for observation in _steps(6):
        action = switching.act(observation)
        assert action == (candidate if switching.arm == CANDIDATE else baseline).action
        decided.append(switching.arm)
    # Each day's arm decides its steps; its last observation (24:00) decides the next day's first step.
    assert decided == [arm for day in range(6) for arm in [arms[day]] * 95 + [arms[day + 1]]]
    assert len(candidate.acted) == decided.count(CANDIDATE) and len(baseline.acted) == decided.count(BASELINE)
    switches = sum(before != after for before, after in zip([arms[0], *decided], decided, strict=False))
    assert switches >= 2 and candidate.resets + baseline.resets == 2 + switches
    # The decisions of every block, in order, although each reset emptied its arm's log.
    log = switching.decision_log
    assert [entry[0] for entry in log] == decided


def test_the_midnight_observation_is_decided_by_the_arm_of_the_new_day() -> None:
    candidate, baseline = _Fake("candidate", 24.0), _Fake("baseline", 14.0)
    schedule = ABSchedule(seed=3, block_days=1, origin_day=calendar_day(7, 1))
    day_of = {day: schedule.arm_of_day(calendar_day(7, day)) for day in (1, 2, 3)}
    assert len(set(day_of.values())) == 2, "seed 3 switches within the first three days"
    switching = ABSwitchingController(candidate, baseline, schedule)
    switching.reset(CONTEXT)
    for observation in _steps(3):
        switching.act(observation)
        if (observation.hour, observation.minute) == (23, 60):
            assert switching.arm == day_of.get(observation.day + 1, switching.arm)
        else:
            assert switching.arm == day_of[observation.day]


def test_an_ai_candidate_starts_each_block_from_the_setpoints_in_force(short_site, facility_model) -> None:
    """Three July days, ai against the site's own control: the ai's decisions fall in its blocks only, and its
    first step after the site's own control moves the supply air no more than one decision may."""
    design = ABDesign(seed=3, block_days=1)
    outcome = simulate(short_site, None, "ai", controller_options={"model": facility_model}, ab=design)
    telemetry, decisions = outcome.result.telemetry, outcome.result.decisions
    assert outcome.summary.ab_schedule is not None
    assert outcome.summary.ab_schedule.candidate_blocks + outcome.summary.ab_schedule.baseline_blocks == 3
    arms = telemetry[ARM_COLUMN]
    assert set(arms) == {CANDIDATE, BASELINE}
    schedule = design.schedule(calendar_day(7, 1))
    decided_at = pd.Series([decision.time for decision in decisions])  # the end of the step each decides after
    assert decisions and all(schedule.arm_at(time) == CANDIDATE for time in decided_at)
    supply = telemetry["West Hall/supply_air_setpoint_c"]
    takeovers = [i for i in range(1, len(arms)) if arms.iloc[i] == CANDIDATE and arms.iloc[i - 1] == BASELINE]
    assert takeovers
    largest_step_c = AIController.max_step_c + AIController.humidity_step_up_c  # one decision's largest move
    assert all(abs(supply.iloc[row] - supply.iloc[row - 1]) <= largest_step_c + 1e-6 for row in takeovers)
