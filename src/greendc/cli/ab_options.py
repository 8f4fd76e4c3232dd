"""The A/B switching options ``greendc simulate`` and ``greendc agent`` share (``greendc.control.ab_schedule``)."""

from __future__ import annotations

from typing import Annotated

import typer

ScheduleOption = Annotated[str | None, typer.Option(
    "--schedule", metavar="ab[:SEED]",
    help="Randomized A/B switching: --controller and the --ab-baseline take turns in charge, in blocks of whole "
         "days starting at midnight, balanced in pairs (SEED, default 0, fixes the order); the telemetry's ab_arm "
         "column says which was in control at each step.")]
ABBaselineOption = Annotated[str | None, typer.Option(
    "--ab-baseline", metavar="NAME",
    help="The controller --controller takes turns with (default: default, the site's own sequence).")]
ABBlockDaysOption = Annotated[int | None, typer.Option(
    "--ab-block-days", metavar="N", help="Days per A/B block (default 3); verification discards the hours "
                                         "after each switch, so longer blocks lose less.")]
