"""One evaluator for every reported figure: a declarative spec per figure, evaluated per site and per organization.

A :class:`FigureSpec` says what a figure is: its unit, its formula in words, the standard it follows and
the note it carries when its inputs are missing. Either it is *derived*, by a pure function (from
``kpis``, ``scope2``, ``renewables``) of other figures, or it is *reported* as a domain step found it: an
entered value, a run's energy, the market-based hierarchy, a sum over sites; that step hands over a
:class:`Basis`, the value with its evidence. :func:`evaluate` turns a list of specs into figures; a
figure whose inputs are missing is null with the reason, never a made-up number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from greendc.carbon.factors import EmissionFactor
from greendc.carbon.figures import Figure, Interval, missing

Input = str | tuple[str, str]
"""A figure a derived figure reads: its key, or ``(label, key)`` to show it under another name."""


@dataclass(frozen=True)
class Basis:
    """What a domain step found for a reported figure: ``value`` (None when the inventory lacks it), the
    evidence shown as the figure's ``inputs``, where it came from, the factor(s) it used, a ``note``, and its
    uncertainty ``interval`` where it has one."""

    value: float | None
    inputs: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    factor: EmissionFactor | None = None
    factors: tuple[EmissionFactor, ...] = ()
    note: str = ""
    interval: Interval | None = None


@dataclass(frozen=True)
class FigureSpec:
    """One figure: ``key``, ``unit``, ``formula`` and ``standard`` as the figures document shows them.

    ``compute`` is None for a figure reported from its :class:`Basis`; otherwise the pure function applied
    to the values of ``inputs`` (in order), followed by the t/MWh of the emission factor named ``factor``
    when ``applies_factor``. ``factor`` names the factor a figure carries (its value and source) either way.
    ``missing_note`` says what is missing when the figure is null.
    """

    key: str
    unit: str
    formula: str
    standard: str = ""
    missing_note: str = ""
    compute: Callable[..., float | None] | None = None
    inputs: tuple[Input, ...] = ()
    factor: str = ""
    applies_factor: bool = False

    def input_keys(self) -> list[tuple[str, str]]:
        """``(label, key)`` for every input."""
        return [(name, name) if isinstance(name, str) else name for name in self.inputs]


def reported(key: str, unit: str, formula: str, standard: str = "", missing_note: str = "") -> FigureSpec:
    """A figure reported as its domain step found it (an entered value, a run's energy, a sum over sites)."""
    return FigureSpec(key, unit, formula, standard, missing_note)


def derived(
    key: str,
    unit: str,
    formula: str,
    compute: Callable[..., float | None],
    *inputs: Input,
    standard: str = "",
    missing_note: str = "",
    factor: str = "",
    applies_factor: bool = False,
) -> FigureSpec:
    """A figure computed by ``compute`` from the figures named by ``inputs``."""
    return FigureSpec(key, unit, formula, standard, missing_note, compute, inputs, factor, applies_factor)


def evaluate(
    specs: Sequence[FigureSpec],
    basis: Mapping[str, Basis],
    factors: Mapping[str, EmissionFactor] | None = None,
) -> dict[str, Figure]:
    """Every figure of ``specs``, in their order: reported ones from ``basis``, then derived ones from the
    figures before them. ``factors`` holds the emission factors specs name (e.g. ``location``)."""
    factors = factors or {}
    figures = {spec.key: _reported(spec, basis[spec.key]) for spec in specs if spec.compute is None}
    for spec in specs:
        if spec.compute is not None:
            figures[spec.key] = _derived(spec, figures, factors.get(spec.factor))
    return {spec.key: figures[spec.key] for spec in specs}


def _reported(spec: FigureSpec, found: Basis) -> Figure:
    if found.value is None:
        return missing(spec.unit, spec.formula, found.note or spec.missing_note, spec.standard)
    return Figure(
        found.value,
        spec.unit,
        spec.formula,
        found.inputs,
        factor=found.factor,
        factors=found.factors,
        source=found.source,
        standard=spec.standard,
        note=found.note,
        interval=found.interval,
    )


def _derived(spec: FigureSpec, figures: Mapping[str, Figure], factor: EmissionFactor | None) -> Figure:
    assert spec.compute is not None
    values = {label: figures[key].value for label, key in spec.input_keys()}
    args = list(values.values())
    if spec.applies_factor:
        args.append(factor.value_tco2_per_mwh if factor is not None else None)
    value = None if any(arg is None for arg in args) else spec.compute(*args)
    if value is None:
        return missing(spec.unit, spec.formula, _missing_note(spec, figures), spec.standard)
    return Figure(
        value,
        spec.unit,
        spec.formula,
        values,
        factor=factor,
        source=factor.source if factor is not None else "",
        standard=spec.standard,
    )


def _missing_note(spec: FigureSpec, figures: Mapping[str, Figure]) -> str:
    """The spec's note, with what each missing input says of itself where that adds something (e.g. which
    sites lack a total): ``it_energy not given (it_energy_mwh: not available for: DC2)``."""
    details = [
        f"{key}: {figures[key].note or 'not available'}"
        for _, key in spec.input_keys()
        if figures[key].value is None and figures[key].note != spec.missing_note
    ]
    if not spec.missing_note:
        return "; ".join(details) or "its inputs give no value (a zero denominator)"
    return f"{spec.missing_note} ({'; '.join(details)})" if details else spec.missing_note
