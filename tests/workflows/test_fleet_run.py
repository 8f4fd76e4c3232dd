"""A fleet run: the same records as ``run_bench`` on each site alone, on local processes and on a local Ray; a
rerun skips finished jobs, also after an interruption; a changed input reruns only its jobs."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.workflows.conftest import SITES, require_ray

from greendc.workflows.bench import run_bench
from greendc.workflows.executor import InProcessExecutor, LocalProcessExecutor, WorkerDiedError
from greendc.workflows.fleet import load_fleet
from greendc.workflows.fleet_run import FleetResult, FleetRunError, read_fleet_table, run_fleet


def _comparable(result: FleetResult) -> dict[str, list[dict[str, Any]]]:
    """Each site's records without the wall time (which differs from run to run)."""
    return {site: [r.model_dump(exclude={"wall_s"}) for r in records] for site, records in result.records.items()}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FleetResult]:
    """The two-site fleet on two local processes (4 runs of two July days)."""
    from tests.workflows.conftest import write_fleet

    folder = tmp_path_factory.mktemp("fleet")
    path = write_fleet(folder)
    return path, run_fleet(load_fleet(path), folder / "out", LocalProcessExecutor(2))


def test_a_fleet_gives_what_bench_gives_on_each_site_alone(local_run: tuple[Path, FleetResult]) -> None:
    path, result = local_run
    fleet = load_fleet(path)
    assert result.jobs_run == 4 and result.jobs_reused == 0
    for member in fleet.members:
        alone = run_bench(member.site, member.site_dir, ["default", "trim-respond"], ["chicago"], isolated=False)
        assert [r.model_dump(exclude={"wall_s"}) for r in alone] == _comparable(result)[member.site.name]
    rows = read_fleet_table(result.out_dir)
    assert [(r.site, r.controller) for r in rows] == [(m.site.name, c) for m in fleet.members
                                                      for c in ("default", "trim-respond")]
    assert all(r.facility_mwh > r.it_mwh > 0 and r.cooling_mwh > 0 and r.pue > 1 for r in rows)
    assert (result.out_dir / "fleet.csv").read_text().count("\n") == 5
    figures = (result.out_dir / "report" / "figures.json").read_text()
    assert all(m.site.name in figures for m in fleet.members)
    assert all((result.out_dir / "sites" / s).is_dir() for s in ("two-hall-example-data-center",
                                                                 "three-hall-chilled-water-example-data-center"))


def test_a_rerun_skips_every_finished_job(local_run: tuple[Path, FleetResult]) -> None:
    path, first = local_run
    again = run_fleet(load_fleet(path), first.out_dir, _NoRun())
    assert (again.jobs_run, again.jobs_reused) == (0, 4)
    assert _comparable(again) == _comparable(first)


class _NoRun:
    """An executor that fails the test if any job reaches it."""

    def run(self, job_function: Callable[..., Any], jobs: Sequence[Any], on_progress: Any = None,
            on_done: Any = None) -> list[Any]:
        assert not jobs, f"{len(jobs)} jobs ran again"
        return []


class _Interrupted(InProcessExecutor):
    """Runs ``finish`` jobs, then stops as Ctrl-C would."""

    def __init__(self, finish: int) -> None:
        self.finish = finish

    def run(self, job_function: Callable[..., Any], jobs: Sequence[Any], on_progress: Any = None,
            on_done: Any = None) -> list[Any]:
        for index, job in enumerate(jobs[:self.finish]):
            outcome = job_function(job, None)
            if on_done:
                on_done(index, outcome)
        raise KeyboardInterrupt


def test_after_an_interruption_a_rerun_runs_only_the_unfinished_jobs(tmp_path: Path) -> None:
    from tests.workflows.conftest import write_fleet

    path = write_fleet(tmp_path, sites=[{"path": f"{SITES[0]}.yaml"}])
    with pytest.raises(KeyboardInterrupt):
        run_fleet(load_fleet(path), tmp_path / "out", _Interrupted(1))
    resumed = run_fleet(load_fleet(path), tmp_path / "out", InProcessExecutor())
    assert (resumed.jobs_run, resumed.jobs_reused) == (1, 1)
    # A changed site file is another input: its jobs run again, under new keys.
    site = tmp_path / f"{SITES[0]}.yaml"
    data = yaml.safe_load(site.read_text())
    data["ups_efficiency"] = 0.9
    site.write_text(yaml.safe_dump(data))
    changed = run_fleet(load_fleet(path), tmp_path / "out", InProcessExecutor())
    assert (changed.jobs_run, changed.jobs_reused) == (2, 0)
    assert changed.rows[0].facility_mwh > resumed.rows[0].facility_mwh  # a worse UPS: more facility energy


class _Dies:
    def run(self, job_function: Callable[..., Any], jobs: Sequence[Any], on_progress: Any = None,
            on_done: Any = None) -> list[Any]:
        raise WorkerDiedError(1)


def test_a_job_whose_worker_died_is_named(fleet_file: Path, tmp_path: Path) -> None:
    with pytest.raises(FleetRunError, match=r"Two-hall example data center, trim-respond in chicago: its worker"):
        run_fleet(load_fleet(fleet_file), tmp_path / "out", _Dies())


@pytest.fixture(scope="module")
def ray_executor() -> Any:
    require_ray()
    from greendc.workflows.ray_executor import RayExecutor

    executor = RayExecutor(workers=2, max_retries=1)
    executor.start()
    yield executor
    executor.stop()


def test_the_same_records_on_a_local_ray(local_run: tuple[Path, FleetResult], ray_executor: Any,
                                         tmp_path: Path) -> None:
    path, local = local_run
    on_ray = run_fleet(load_fleet(path), tmp_path / "ray", ray_executor)
    assert on_ray.jobs_run == 4
    assert _comparable(on_ray) == _comparable(local)
    assert read_fleet_table(tmp_path / "ray") == read_fleet_table(local.out_dir)


def _die_on_two(job: int, report: Any) -> int:
    if job == 2:
        os._exit(1)  # as EnergyPlus crashing takes its process with it
    return job * 10


def test_a_ray_task_whose_worker_dies_is_retried_then_reported(ray_executor: Any) -> None:
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    assert ray_executor.run(_die_on_two, [0, 1]) == [0, 10]
    with pytest.raises(WorkerDiedError) as raised:
        ray_executor.run(_die_on_two, [0, 1, 2, 3])
    assert raised.value.index == 2


def test_greendc_fleet_prints_the_table_and_resumes(local_run: tuple[Path, FleetResult]) -> None:
    from typer.testing import CliRunner

    from greendc.cli.main import app

    path, first = local_run
    result = CliRunner().invoke(app, ["fleet", str(path), "--out", str(first.out_dir), "--workers", "1"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "0 jobs run, 4 found finished" in text
    assert "Three-hall chilled-water example data center" in text and "facility MWh" in text
    assert "fleet of 2 sites: 4 jobs" in text  # the one progress bar over the whole fleet
