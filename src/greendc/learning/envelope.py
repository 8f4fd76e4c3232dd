"""What a facility model learned from, and whether the site it is about to drive is the same kind of place.

A model file records its *training envelope* (:class:`TrainingEnvelope`): the site it was trained for (name,
zones and their IT design power, setpoint bounds, the fingerprint of the plant description), the training
period, and the range of every model input over the rows the trees were fitted on. Gradient-boosted trees
predict a constant beyond the last split they learned, so outside these ranges a prediction is a guess
that looks like knowledge; the envelope lets the controller know when it is there.

Before a model drives a site, :func:`compare_with_site` sets what the site's :class:`ControlContext` says
against the envelope: other zones, or a zone whose IT design power differs by more than
:data:`DESIGN_POWER_REFUSAL_FRACTION`, is a refusal (the learned heat balance of the hall no longer holds);
other setpoint bounds, another plant description or a smaller change in design power is a warning.
:func:`check_model_for_site` turns refusals into one :class:`ModelMismatchError` line, unless the user
accepts the mismatch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from greendc.errors import UsageError
from greendc.learning.features import TrainingTable
from greendc.site.fingerprint import site_fingerprint, zone_it_design_power_w
from greendc.site.schema import Bounds, Setpoints, Site
from greendc.telemetry.contract import ControlContext
from greendc.telemetry.sensors import ZONE

#: A zone whose IT design power differs from the trained one by more than this share is refused: the model
#: learned the inlet's response to a hall's heat load, which scales with the design power.
DESIGN_POWER_REFUSAL_FRACTION = 0.20
#: Relative differences below this are rounding (a design power given per m2 or in kW), not a change.
_SAME_FRACTION = 1e-9
#: The setpoints whose bounds are recorded, as :class:`~greendc.site.schema.Setpoints` names them.
SETPOINT_NAMES = Setpoints._fields
ACCEPT_OPTION = "--accept-model-mismatch"

_Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ValueRange(_Strict):
    """A closed, finite range ``[min, max]`` in the unit of what it bounds."""

    min: _Finite
    max: _Finite

    @model_validator(mode="after")
    def _ordered(self) -> ValueRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self

    def contains(self, value: float | None, tolerance: float = 0.0) -> bool:
        """Whether ``value`` lies within the range widened by ``tolerance`` on both sides (NaN, None: no)."""
        if value is None:
            return False
        try:
            value = float(value)
        except (TypeError, ValueError):
            return False
        if math.isnan(value):
            return False
        return self.min - tolerance <= value <= self.max + tolerance


class TrainingEnvelope(_Strict):
    """What a facility model learned from (recorded in its file's ``meta.json``)."""

    site_name: str
    #: ``greendc.site.fingerprint.site_fingerprint`` of the training site's plant.
    site_fingerprint: str
    zone_names: list[str]
    #: Each zone's IT design power, W (``greendc.site.fingerprint.zone_it_design_power_w``).
    zone_it_design_power_w: dict[str, Annotated[float, Field(gt=0.0, allow_inf_nan=False)]]
    #: The training site's setpoint bounds, C, by setpoint (``supply_air_c``, ``zone_cooling_c``,
    #: ``chilled_water_c``).
    setpoint_bounds: dict[str, ValueRange]
    #: Every model input (``features.feature_names`` order) -> its range over the rows the trees were fitted on.
    feature_ranges: dict[str, ValueRange]
    #: Each zone's IT power as a fraction of its design power over the same rows.
    zone_it_load_fraction: dict[str, ValueRange]
    #: First and last timestamp of the training telemetry.
    training_period: tuple[str, str]

    @model_validator(mode="after")
    def _consistent(self) -> TrainingEnvelope:
        zones = list(self.zone_names)
        if len(set(zones)) != len(zones):
            raise ValueError(f"zone_names: a zone appears twice in {zones}")
        for field, keys in (("zone_it_design_power_w", self.zone_it_design_power_w),
                            ("zone_it_load_fraction", self.zone_it_load_fraction)):
            if list(keys) != zones:
                raise ValueError(f"{field}: zones {list(keys)} are not the envelope's zones {zones}")
        if sorted(self.setpoint_bounds) != sorted(SETPOINT_NAMES):
            raise ValueError(f"setpoint_bounds: {sorted(self.setpoint_bounds)} are not {list(SETPOINT_NAMES)}")
        return self


def envelope_from_training(table: TrainingTable, site: Site, training_period: Sequence[str]) -> TrainingEnvelope:
    """The envelope of a model fitted on the rows of ``table`` for ``site``.

    ``table`` holds the rows the trees were fitted on (not the held-out ones: what a tree has never seen it
    cannot have learned); its zones must be the site's.
    """
    design_w = zone_it_design_power_w(site)
    zones = [zone.name for zone in site.zones]
    features = table.features
    if len(features) == 0:
        raise ValueError("no training rows to take the envelope from")
    ranges = {name: _range_of(features[name].to_numpy(dtype=float)) for name in features.columns}
    fractions = {zone: _range_of(features[f"state:{ZONE.it_power_w.of(zone)}"].to_numpy(dtype=float) / design_w[zone])
                 for zone in zones}
    start, end = training_period
    return TrainingEnvelope(
        site_name=site.name, site_fingerprint=site_fingerprint(site), zone_names=zones,
        zone_it_design_power_w={zone: float(design_w[zone]) for zone in zones},
        setpoint_bounds={name: ValueRange(min=float(bounds.min), max=float(bounds.max))
                         for name, bounds in zip(SETPOINT_NAMES, site.setpoints, strict=True)},
        feature_ranges=ranges, zone_it_load_fraction=fractions, training_period=(str(start), str(end)))


def _range_of(values: np.ndarray) -> ValueRange:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("a model input holds no finite value over the training rows")
    return ValueRange(min=float(finite.min()), max=float(finite.max()))


@dataclass(frozen=True)
class ModelSiteCheck:
    """What stands between a model and a site: refusals (do not use it) and warnings (use it, say so)."""

    refusals: list[str]
    warnings: list[str]


def compare_with_site(envelope: TrainingEnvelope, context: ControlContext) -> ModelSiteCheck:
    """Refusals and warnings, each one short line, for driving the site of ``context`` with the model of
    ``envelope``.

    Refused: other zone names (or order), a zone's IT design power more than 20 % away from the trained one.
    Warned: a zone's design power within 20 % but not equal, setpoint bounds that differ (which and how),
    another plant fingerprint. What the context leaves unknown (no design power, an empty fingerprint) is
    not compared.
    """
    refusals: list[str] = []
    warnings: list[str] = []
    site_zones = list(context.zone_names)
    if site_zones != list(envelope.zone_names):
        refusals.append(f"trained for zones {envelope.zone_names}, the site has {site_zones}")
    for zone in site_zones:
        trained_w = envelope.zone_it_design_power_w.get(zone)
        site_w = context.zone_it_design_power_w.get(zone)
        if trained_w is None or site_w is None:
            continue
        change = (site_w - trained_w) / trained_w
        if abs(change) <= _SAME_FRACTION:
            continue
        line = (f"{zone}'s IT design power is {site_w / 1000:.0f} kW, {100 * abs(change):.0f} % "
                f"{'above' if change > 0 else 'below'} the {trained_w / 1000:.0f} kW trained on")
        (refusals if abs(change) > DESIGN_POWER_REFUSAL_FRACTION else warnings).append(line)
    for name, bounds in zip(SETPOINT_NAMES, context.bounds, strict=True):
        trained = envelope.setpoint_bounds.get(name)
        if trained is not None and (bounds.min, bounds.max) != (trained.min, trained.max):
            label = name.removesuffix("_c").replace("_", "-")
            warnings.append(f"{label} setpoint bounds {_span(bounds.min, bounds.max)} at the site, "
                            f"{_span(trained.min, trained.max)} in training ({_how(bounds, trained)})")
    if context.site_fingerprint and context.site_fingerprint != envelope.site_fingerprint:
        warnings.append(f"the site's plant (zones, servers, UPS, recirculation, cooling) differs from the training "
                        f"site {envelope.site_name!r}'s (fingerprint {context.site_fingerprint}, trained on "
                        f"{envelope.site_fingerprint})")
    return ModelSiteCheck(refusals=refusals, warnings=warnings)


def _span(low_c: float, high_c: float) -> str:
    return f"{low_c:g}-{high_c:g} C"


def _how(bounds: Bounds, trained: ValueRange) -> str:
    """How a site's bounds differ from the trained ones: ``wider``, ``narrower`` or ``shifted``."""
    low, high = bounds.min, bounds.max
    if low <= trained.min and high >= trained.max:
        return "wider: the model has not seen setpoints beyond the trained ones"
    if low >= trained.min and high <= trained.max:
        return "narrower"
    return "shifted: the model has not seen setpoints beyond the trained ones"


class ModelMismatchError(UsageError):
    """A facility model refused for a site it was not trained for (one line naming every reason)."""


def check_model_for_site(envelope: TrainingEnvelope, context: ControlContext,
                         accept_mismatch: bool = False) -> list[str]:
    """The warnings of :func:`compare_with_site`; its refusals raise :class:`ModelMismatchError`.

    With ``accept_mismatch`` the refusals come back first among the warnings instead.
    """
    check = compare_with_site(envelope, context)
    if check.refusals and not accept_mismatch:
        raise ModelMismatchError(f"the facility model does not fit this site: {'; '.join(check.refusals)} "
                                 f"(give {ACCEPT_OPTION} to use it anyway)")
    return [*check.refusals, *check.warnings] if accept_mismatch else list(check.warnings)
