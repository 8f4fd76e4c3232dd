"""Controllers by name, as the command line and benchmarks refer to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greendc.control.baselines import (
    ConstantController,
    DefaultController,
    RuleBasedController,
    TrimRespondController,
)
from greendc.control.explore import ExplorationController
from greendc.errors import UsageError
from greendc.telemetry.contract import Controller


def _ai_controller(**options: Any) -> Controller:
    """The ai controller (``greendc.control.ai.AIController``), imported only when asked for: its compiled
    search brings numba, whose import costs about a fifth of a second that no other controller needs."""
    from greendc.control.ai import AIController

    return AIController(**options)


CONTROLLERS: dict[str, Callable[..., Controller]] = {
    "default": DefaultController,
    "rbc": RuleBasedController,
    "trim-respond": TrimRespondController,
    "explore": ExplorationController,
    "constant": ConstantController,
    "ai": _ai_controller,
}


def make_controller(name: str, **options: Any) -> Controller:
    """Build a controller by name, with keyword options for its constructor."""
    try:
        factory = CONTROLLERS[name]
    except KeyError:
        raise UsageError(f"unknown controller {name!r}; choose from {', '.join(CONTROLLERS)}") from None
    return factory(**options)
