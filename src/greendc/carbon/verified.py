"""Savings measured on metered data: a greendc verification record (``greendc verify --json``) as the source of
a claimed saving, and the uncertainty of a sum of such savings.

A record is claimable only when its saving is positive and distinguishable from zero at its confidence: the
interval of a saving that may be zero says that nothing is known to have been saved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from statistics import NormalDist

from greendc.carbon.errors import InventoryError
from greendc.carbon.figures import Interval
from greendc.files import InputFileError
from greendc.verification.record import Period, Verification, read_verification

ENERGY_WORDS = {"facility": "whole-facility electricity", "cooling": "cooling electricity"}
"""What a record's ``energy`` measured, in words."""


def period_days(period: Period) -> tuple[date, date]:
    """The first and last day a period of metered data covers. Its times are interval ends, so an end at
    midnight closes the day before (a year of hourly data ends at 00:00 on 1 January of the next year)."""
    return period.start.date(), (period.end - timedelta(microseconds=1)).date()


def period_words(period: Period) -> str:
    """``2023-01-01 to 2023-06-30 (4,344 h)``."""
    first, last = period_days(period)
    return f"{first.isoformat()} to {last.isoformat()} ({period.hours:,.0f} h)"


def mwh_interval(record: Verification) -> Interval:
    """The record's interval of avoided energy, in MWh."""
    return Interval(record.avoided_kwh_lower / 1000.0, record.avoided_kwh_upper / 1000.0, record.confidence)


def plus_minus(value: float, interval: Interval, unit: str) -> str:
    """``15.1 MWh ± 2.3 MWh at 90 % confidence``; an interval not centred on the value gives both bounds."""
    words = interval_words(value, interval, unit)
    shown = f"{value:,.{decimals(interval.half_width)}f} {unit}"
    return f"{shown} {words}" if words.startswith("±") else f"{shown} ({words})"


def decimals(half_width: float) -> int:
    """Decimals that show a half-width to two significant digits (at least one, at most four): 2.3, 0.30,
    0.060; a small saving's interval would otherwise read as 0.0 or 0.1."""
    if half_width <= 0 or not math.isfinite(half_width):
        return 1
    return min(4, max(1, 1 - math.floor(math.log10(half_width))))


def interval_words(value: float, interval: Interval, unit: str) -> str:
    """``± 2.3 MWh at 90 % confidence`` (beside the value), or both bounds for an interval not centred on it."""
    half = interval.half_width
    d = decimals(half)
    if math.isclose(interval.lower + half, value, rel_tol=1e-6, abs_tol=1e-9):
        return f"± {half:,.{d}f} {unit} at {interval.confidence_pct:g} % confidence"
    return f"{interval.lower:,.{d}f} to {interval.upper:,.{d}f} {unit} at {interval.confidence_pct:g} % confidence"


def read_claimable_verification(path: Path) -> Verification:
    """Read a verification record and refuse, in one line naming the record and field, one whose saving cannot
    be claimed: an increase, a saving not distinguishable from zero, or an interval that does not hold it."""
    try:
        record = read_verification(path)
    except InputFileError as error:
        raise InventoryError(error.file, error.field, error.message) from None
    interval = mwh_interval(record)
    saved = record.avoided_mwh
    if saved <= 0:
        raise InventoryError(
            path,
            "avoided_kwh",
            f"the metered energy is {-saved:,.1f} MWh above the adjusted baseline "
            f"({plus_minus(saved, interval, 'MWh')}): not a saving that can be claimed",
        )
    if not record.distinguishable_from_zero or interval.lower <= 0:
        raise InventoryError(
            path,
            "distinguishable_from_zero",
            f"the saving of {plus_minus(saved, interval, 'MWh')} is not distinguishable from zero: not a saving that "
            "can be claimed",
        )
    if not interval.lower <= saved <= interval.upper:
        raise InventoryError(
            path,
            "avoided_kwh_lower",
            f"the interval {interval.lower:,.1f} to {interval.upper:,.1f} MWh does not contain the saving "
            f"{saved:,.1f} MWh",
        )
    return record


def option_words(record: Verification) -> str:
    """``IPMVP Option C`` from ``C (whole facility)`` (or an option already written out)."""
    option = record.ipmvp_option.strip().removeprefix("IPMVP").strip().removeprefix("Option").strip()
    letter = option.split(" ", 1)[0] if option else "?"
    return f"IPMVP Option {letter}"


def saving_name(record: Verification) -> str:
    """A saving's name from its record: ``ai control vs trim-respond (metered, IPMVP Option C)``, or the
    reporting period when the record does not name the controllers (a real site's meters)."""
    option = option_words(record)
    if record.candidate_controller and record.baseline_controller:
        name = f"{record.candidate_controller} control vs {record.baseline_controller} (metered, {option})"
    else:
        first, last = period_days(record.reporting_period)
        name = f"metered saving {first.isoformat()} to {last.isoformat()} ({option})"
    return name[:120]


def sum_interval(total: float, intervals: Sequence[Interval]) -> Interval | None:
    """The interval of a sum of independent verified savings: the half-widths add in quadrature.

    Independent errors of savings measured at different sites or periods add as variances, so the half-width
    of the sum is the root of the sum of squared half-widths (at one confidence). Intervals stated at different
    confidences are first brought to the highest of them with the normal quantile (each half-width is z x its
    standard uncertainty), which widens, never narrows, the others. Each interval counts as its saving plus or
    minus half its width (greendc's records are symmetric). None for no intervals.
    """
    if not intervals:
        return None
    confidence = max(i.confidence_pct for i in intervals)
    z_total = NormalDist().inv_cdf(0.5 + confidence / 200.0)
    half = math.sqrt(
        sum((i.half_width * z_total / NormalDist().inv_cdf(0.5 + i.confidence_pct / 200.0)) ** 2 for i in intervals)
    )
    return Interval(total - half, total + half, confidence)
