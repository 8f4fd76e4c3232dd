"""A reported number with everything an auditor needs to recompute it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from greendc.carbon.factors import EmissionFactor


@dataclass(frozen=True)
class Interval:
    """A two-sided interval around a figure at ``confidence_pct`` (e.g. 90 %: 5 % below ``lower``, 5 % above
    ``upper``), in the figure's unit."""

    lower: float
    upper: float
    confidence_pct: float

    @property
    def half_width(self) -> float:
        return (self.upper - self.lower) / 2.0

    def scaled(self, factor: float) -> Interval:
        """The interval of the figure times ``factor`` (a saving's bounds times an emission factor)."""
        return Interval(self.lower * factor, self.upper * factor, self.confidence_pct)

    def as_dict(self) -> dict[str, float]:
        return {"lower": self.lower, "upper": self.upper, "confidence_percent": self.confidence_pct}


@dataclass(frozen=True)
class Figure:
    """``value`` in ``unit``, computed by ``formula`` from ``inputs`` (and ``factor`` where one applies).

    ``value`` is None when the inventory does not hold the inputs; ``note`` then says which are missing.
    ``interval`` is the figure's uncertainty where it has one (a verified saving and what follows from it).
    """

    value: float | None
    unit: str
    formula: str
    inputs: dict[str, Any] = field(default_factory=dict)
    factor: EmissionFactor | None = None
    factors: tuple[EmissionFactor, ...] = ()
    source: str = ""
    standard: str = ""
    note: str = ""
    interval: Interval | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "unit": self.unit,
            "formula": self.formula,
            "inputs": self.inputs,
            "factor": self.factor.as_dict() if self.factor is not None else None,
            "source": self.source or self._derived_source(),
            "standard": self.standard,
        }
        if self.interval is not None:
            out["interval"] = self.interval.as_dict()
        if self.factors:
            out["factors"] = [f.as_dict() for f in self.factors]
        if self.note:
            out["note"] = self.note
        return out

    def _derived_source(self) -> str:
        if self.value is None:
            return "not available" + (f": {self.note}" if self.note else "")
        return "computed by greendc: formula applied to the inputs (each input figure carries its own source)"


def missing(unit: str, formula: str, note: str, standard: str = "") -> Figure:
    """A figure the inventory cannot support: reported as null with the reason."""
    return Figure(value=None, unit=unit, formula=formula, note=note, standard=standard)
