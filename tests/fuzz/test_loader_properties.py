"""Property: any input file either loads or is refused with one short line; greendc never crashes on it.

Hypothesis damages the real example files (``tests/fuzz/mutations.py``: wrong types and ranges, NaN,
missing and unknown keys, deep nesting, YAML syntax, rows and fields lost or added, bits flipped) and
loads each as greendc does. The outcome must be a load, or a :class:`~greendc.errors.GreendcError` whose
message is one line of at most :data:`MAX_MESSAGE_CHARS` characters without control characters; any other
exception fails the test with the case that caused it, shrunk. ``bench/fuzz.py`` runs 10,000 cases of each.

A few hundred examples each keep the file within about a minute: EPW cases read a whole year of weather
(some 0.15 s each), so they get fewer.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.mutations import (
    MAX_MESSAGE_CHARS,
    Case,
    epw_case,
    inventory_case,
    load_csv_case,
    message_problem,
    outcome,
    site_case,
    telemetry_case,
)

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=300)


def _check(make: Callable[[random.Random], Case], rng: random.Random) -> str:
    case = make(rng)
    folder = Path(tempfile.mkdtemp(prefix="greendc-fuzz-"))
    try:
        kind, detail = outcome(case, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert kind in ("loaded", "refused"), f"{case.what}: {kind}: {detail}"
    return kind


@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_site_files_load_or_are_refused_in_one_line(rng: random.Random) -> None:
    _check(site_case, rng)


@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_inventory_files_load_or_are_refused_in_one_line(rng: random.Random) -> None:
    _check(inventory_case, rng)


@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_telemetry_loads_or_is_refused_in_one_line(rng: random.Random) -> None:
    _check(telemetry_case, rng)


@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_load_csv_files_load_or_are_refused_in_one_line(rng: random.Random) -> None:
    _check(load_csv_case, rng)


@settings(FUZZ, max_examples=80)
@given(rng=st.randoms(use_true_random=False))
def test_epw_files_load_or_are_refused_in_one_line(rng: random.Random) -> None:
    _check(epw_case, rng)


@pytest.mark.parametrize(("message", "problem"), [
    ("site.yaml: name: required field is missing", None),
    ("a\nb", "more than one line"),
    ("x" * (MAX_MESSAGE_CHARS + 1), f"{MAX_MESSAGE_CHARS + 1} characters"),
    ("bad \x1b[31m colour", "a control character"),
    ("  ", "empty message"),
])
def test_the_message_check_tells_good_lines_from_bad(message: str, problem: str | None) -> None:
    assert message_problem(message) == problem


def test_the_damage_reaches_every_outcome() -> None:
    """The generators are not so gentle that all cases load, nor so rough that none does."""
    kinds = {_check(site_case, random.Random(seed)) for seed in range(60)}
    assert kinds == {"loaded", "refused"}
