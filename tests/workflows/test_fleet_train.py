"""A fleet that explores and trains a site's model before its ai runs: dependency order, and the model's content in
the ai's key (another model reruns the ai, not the baseline)."""

from __future__ import annotations

from pathlib import Path

import yaml
from tests.workflows.conftest import write_short_site

from greendc.workflows.executor import InProcessExecutor
from greendc.workflows.fleet import load_fleet
from greendc.workflows.fleet_run import run_fleet


def _fleet(folder: Path, seed: int) -> Path:
    write_short_site(folder, "two-hall-chicago", days=8)  # a week of exploration is enough to learn from
    path = folder / "fleet.yaml"
    path.write_text(yaml.safe_dump({
        "controllers": ["default", "ai"], "climates": ["chicago"],
        "sites": [{"path": "two-hall-chicago.yaml", "explore": {"climates": ["chicago"], "seed": seed}}]}))
    return path


def test_explore_then_train_then_the_ai_and_a_new_model_reruns_only_the_ai(tmp_path: Path) -> None:
    first = run_fleet(load_fleet(_fleet(tmp_path, seed=3)), tmp_path / "out", InProcessExecutor())
    assert (first.jobs_run, first.jobs_reused) == (4, 0)  # exploration, training, default, ai
    [default, ai] = first.rows
    assert (default.controller, ai.controller) == ("default", "ai")
    assert ai.facility_mwh is not None and ai.facility_mwh < default.facility_mwh  # the trained model saves energy
    site_folder = tmp_path / "out" / "sites" / "two-hall-example-data-center"
    assert (site_folder / "model.gdm").stat().st_size > 1000
    second = run_fleet(load_fleet(_fleet(tmp_path, seed=4)), tmp_path / "out", InProcessExecutor())
    assert (second.jobs_run, second.jobs_reused) == (3, 1)  # the default's run is the same input
    assert second.rows[0] == first.rows[0]
