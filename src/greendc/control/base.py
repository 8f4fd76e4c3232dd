"""The controller contract, as controllers import it (it lives in :mod:`greendc.telemetry.contract`)."""

from greendc.telemetry.contract import (
    Action,
    ControlContext,
    Controller,
    DesignSetpoints,
    Observation,
    ZoneObservation,
    frozen,
)

__all__ = ["Action", "ControlContext", "Controller", "DesignSetpoints", "Observation", "ZoneObservation", "frozen"]
