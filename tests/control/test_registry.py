from __future__ import annotations

import subprocess
import sys

import pytest

from greendc.control.ai import AIController
from greendc.control.registry import make_controller


def test_controllers_are_made_by_name_with_their_options() -> None:
    controller = make_controller("ai", model="model.gdm", objective="cooling")
    assert isinstance(controller, AIController) and controller.objective == "cooling"
    with pytest.raises(ValueError, match="unknown controller 'pid'; choose from default, rbc"):
        make_controller("pid")


def test_the_ai_and_its_compiler_are_imported_only_when_asked_for() -> None:
    # numba's import costs every run that does not use the ai about a fifth of a second.
    code = ("import sys; from greendc.control.registry import make_controller; make_controller('trim-respond'); "
            "print('numba' in sys.modules); make_controller('ai', model='model.gdm'); print('numba' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert shown == ["False", "True"]
