"""Sensor names are spelled in one place: the registry (``greendc.telemetry.sensors``).

Code elsewhere names a sensor through the registry (``ZONE.inlet_temp_c.of(zone)``,
``FACILITY.outdoor_dry_bulb_c.column``). This test finds every string constant in ``src/`` (with ``ast``:
plain strings and the literal parts of f-strings) that holds a sensor's column name as a whole word, and
fails on one outside the registry module. Docstrings are allowed: they document the columns (the telemetry
schema's table, a function saying which column it reads) and nothing derives from them. Attribute names such
as ``observation.inlet_temp_c`` are not strings and are not counted: they are the contract's fields, made
from the registry.

Modules that other parts of the work on issue 15 still have to move onto the registry are listed in
:data:`NOT_YET_MOVED` with their exact count of such strings: a new one there fails too, and so does a count
that has fallen without the list following it (so that the list only shrinks).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

from greendc.telemetry.sensors import SENSORS

SRC = Path(__file__).resolve().parents[1] / "src"
REGISTRY = SRC / "greendc" / "telemetry" / "sensors.py"

#: path under src/ -> strings holding a sensor name (results and the facility model's metrics).
NOT_YET_MOVED: dict[str, int] = {
    "greendc/results/plots.py": 2,
    "greendc/results/summary.py": 14,
    "greendc/telemetry/schema.py": 1,  # validate_telemetry's message naming '<zone>/inlet_temp_c'
}

_NAMES = sorted({sensor.column for sensor in SENSORS}, key=len, reverse=True)
_SENSOR_NAME = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, _NAMES)) + r")(?![A-Za-z0-9_])")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def sensor_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant, docstrings aside, that holds a sensor's column name."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and _SENSOR_NAME.search(node.value)]


def test_the_check_finds_sensor_names_in_strings_and_f_strings_but_not_in_docstrings_or_names() -> None:
    source = '''
def f(zone):
    """Reads inlet_temp_c."""
    a = frame["outdoor_dry_bulb_c"]
    b = frame[f"{zone}/supply_air_setpoint_c"]
    c = observation.inlet_temp_c
    d = "inlet_temp_std_c"
    return a, b, c, d
'''
    assert sensor_strings(source) == [(4, "outdoor_dry_bulb_c"), (5, "/supply_air_setpoint_c")]


def test_sensor_names_are_spelled_only_in_the_registry() -> None:
    found: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(SRC.rglob("*.py")):
        if path == REGISTRY:
            continue
        strings = sensor_strings(path.read_text())
        if strings:
            found[path.relative_to(SRC).as_posix()] = strings
    counts = Counter({path: len(strings) for path, strings in found.items()})
    unexpected = {path: found[path] for path in counts if counts[path] > NOT_YET_MOVED.get(path, 0)}
    assert not unexpected, ("sensor names spelled outside greendc.telemetry.sensors (name them through FACILITY "
                            f"and ZONE): {unexpected}")
    moved = {path: (allowed, counts[path]) for path, allowed in NOT_YET_MOVED.items() if counts[path] < allowed}
    assert not moved, f"fewer sensor names than NOT_YET_MOVED allows, lower it (allowed, found): {moved}"
