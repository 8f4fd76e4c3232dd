"""Data flows one way: a test fails as soon as a package imports one it must not.

site -> twin -> telemetry -> learning -> control -> workflows -> results -> carbon -> report, with the CLI
on top; the BMS protocols (bms) and the live agent (agent) stand beside the twin, on telemetry and control;
verification stands on telemetry, below carbon, which reads its record.
Every ``import`` counts, those inside functions too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "greendc"

#: (importing package, imported package, why it is forbidden)
FORBIDDEN = [
    ("control", "twin", "a controller sees observations, never EnergyPlus: the same one drives a real BMS"),
    ("learning", "twin", "the model learns from telemetry, whoever recorded it"),
    ("site", "twin", "the site file describes a site; the twin is built from it"),
    ("carbon", "twin", "carbon accounts for metered or simulated electricity alike"),
    ("learning", "results", "results summarize runs; learning sits below them"),
    ("carbon", "report", "the report shows carbon figures; carbon does not know about it"),
    ("carbon", "control", "carbon accounts for electricity, whichever controller saved it"),
    ("telemetry", "twin", "the telemetry contract is what every part speaks; it depends on none of them"),
    ("telemetry", "control", "the telemetry contract is what every part speaks; it depends on none of them"),
    ("telemetry", "learning", "the telemetry contract is what every part speaks; it depends on none of them"),
    ("site", "carbon", "site files are read before any accounting"),
    ("agent", "twin", "the agent talks to a building management system, never to EnergyPlus"),
    ("bms", "twin", "the protocols serve any building's points; the virtual building stands on them"),
    ("bms", "control", "the protocols carry points; which controller wrote them is not their concern"),
    ("agent", "workflows", "the agent is handed its controller and context; workflows start it"),
    *(
        ("verification", package, "verification measures a saving on metered data; carbon and the report read its "
         "record, and it knows no controller or simulator")
        for package in ("carbon", "report", "control", "twin")
    ),
]
#: Below the command line: nothing but the CLI itself may import it.
CLI = "cli"


def _package_of(path: Path) -> str:
    relative = path.relative_to(SOURCE)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def _imported_packages(path: Path) -> set[tuple[str, int]]:
    """The greendc packages a module imports, with the line of each import."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "greendc":  # from greendc import twin
                names = [f"greendc.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "greendc" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


@cache
def _imports() -> list[tuple[str, str, str]]:
    """(importing package, imported package, where) for every import of greendc's own code."""
    edges = []
    for path in sorted(SOURCE.rglob("*.py")):
        importer = _package_of(path)
        for imported, line in _imported_packages(path):
            edges.append((importer, imported, f"{path.relative_to(SOURCE.parent)}:{line}"))
    return edges


@pytest.mark.parametrize(("importer", "imported", "why"), FORBIDDEN, ids=[f"{a}-{b}" for a, b, _ in FORBIDDEN])
def test_no_forbidden_import(importer: str, imported: str, why: str) -> None:
    offending = [where for a, b, where in _imports() if a == importer and b == imported]
    assert not offending, f"greendc.{importer} imports greendc.{imported} ({why}): {', '.join(offending)}"


def test_nothing_below_the_cli_imports_it() -> None:
    offending = [where for a, b, where in _imports() if b == CLI and a not in (CLI, "__main__")]
    assert not offending, f"only the command line may import greendc.cli: {', '.join(offending)}"


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from greendc.twin.runner import run_simulation\n    import greendc.results\n")
    assert _imported_packages(module) == {("twin", 2), ("results", 3)}
