"""Simulations and benches as background jobs: queued, run in a separate process, progress visible, results
stored as the command line stores them, one line on failure, downloads kept inside the job's folder."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sqlalchemy import select

from greendc.errors import UsageError
from greendc.service.app import create_app
from greendc.service.database import JobRecord, Organization, User, session_factory
from greendc.service.jobs import INTERRUPTED, JobContext, JobResult, register_job_kind
from tests.conftest import example_site_data


@pytest.fixture(autouse=True)
def stop_queue(app):  # type: ignore[no-untyped-def]
    yield
    app.state.jobs.stop()


def add_site(client: Any, **changes: Any) -> int:
    data = example_site_data()
    data.update(changes)
    answer = client.post("/api/sites", json={"site_yaml": yaml.safe_dump(data)})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def wait_for(client: Any, job_id: int, timeout_s: float = 240.0) -> tuple[dict[str, Any], list[float]]:
    """The job once it has ended, and the progress fractions seen while it ran."""
    seen: list[float] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] == "running":
            seen.append(job["progress_fraction"])
        if job["status"] in ("succeeded", "failed"):
            return job, seen
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end within {timeout_s} s: {job}")


def test_a_short_simulation_runs_in_the_background_and_keeps_its_files(app, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    site_id = add_site(client)
    submitted = client.post("/api/jobs", json={"kind": "simulation", "site_id": site_id, "controller": "rbc",
                                               "days": 2})
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["status"] == "queued"  # answered before the run, not after it
    job, seen = wait_for(client, submitted.json()["id"])
    assert job["status"] == "succeeded", job["message"]
    assert job["progress_fraction"] == 1.0
    assert seen and min(seen) < 1.0 and len(set(seen)) >= 2, seen  # the progress moved while it ran
    summary = client.get(f"/api/jobs/{job['id']}/summary").json()
    assert summary["controller"] == "rbc" and summary["steps"] == 2 * 24 * 4  # two days of 15-minute steps
    assert summary["facility_kwh"] > summary["it_kwh"] > 0 and job["pue"] == pytest.approx(summary["pue"])
    names = {f["name"] for f in job["files"]}
    assert {"summary.json", "telemetry.parquet", "model.epJSON"} <= names
    telemetry = client.get(f"/api/jobs/{job['id']}/files/telemetry.parquet")
    assert telemetry.status_code == 200 and len(pd.read_parquet(io.BytesIO(telemetry.content))) == 2 * 24 * 4
    with session_factory(app.state.engine)() as db:
        row = db.get(JobRecord, job["id"])
        assert row is not None and row.result_path is not None
        assert not Path(row.result_path).is_absolute() and row.result_path.startswith("organizations/")
        assert (app.state.settings.data_dir / row.result_path / "summary.json").is_file()
    # The pages show it: the fleet's PUE and energy, the site's chart and inlet band, in words.
    fleet = client.get("/").text
    assert f"{job['pue']:.3f}" in fleet and "MWh" in fleet
    page = client.get(f"/sites/{site_id}").text
    assert "Electricity by end use" in page and "air-handler fans" in page and "rule-based" in page
    assert "Hottest server inlet" in page and "18–27 °C" in page
    # Results stay the organization's; a path out of the result folder reaches nothing.
    other = make_client("tom", organization="other")
    assert other.get(f"/api/jobs/{job['id']}").status_code == 404
    assert other.get(f"/api/jobs/{job['id']}/files/summary.json").status_code == 404
    assert other.get("/api/jobs").json() == []
    for name in ("%2e%2e/%2e%2e/%2e%2e/%2e%2e/greendc.db", "..%2F..%2Fsummary.json", "%2Fetc%2Fpasswd",
                 "run/../../summary.json", "nothing.txt"):
        refused = client.get(f"/api/jobs/{job['id']}/files/{name}")
        assert refused.status_code == 404, (name, refused.text)


class BoomError(RuntimeError):
    pass


def _fails_with_one_line(context: JobContext) -> JobResult:
    context.progress(0.3, "about to fail")
    raise UsageError("controller: the site's chiller is on fire\n  (a second line nobody should see)")


def _has_a_bug(context: JobContext) -> JobResult:
    raise BoomError("Traceback (most recent call last): secret/path.py")


def test_a_failing_job_shows_its_one_line_and_a_bug_no_traceback(app, make_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from greendc.service import jobs
    from greendc.service.security import Principal

    monkeypatch.setattr(jobs, "_KINDS", dict(jobs._KINDS))  # the test's kinds go with the test
    register_job_kind("test-fails", _fails_with_one_line)
    register_job_kind("test-bug", _has_a_bug)
    client = make_client("olga")
    with session_factory(app.state.engine)() as db:
        user = db.scalar(select(User).where(User.name == "olga"))
        principal = Principal(user.id, "olga", user.organization_id, "operator", None)
        ids = [jobs.submit_job(db, principal, kind, {}).id for kind in ("test-fails", "test-bug")]
        db.commit()
    app.state.jobs.wake()
    failed, _ = wait_for(client, ids[0], 30)
    assert failed["status"] == "failed"
    assert failed["message"] == "controller: the site's chiller is on fire"
    bug, _ = wait_for(client, ids[1], 30)
    assert bug["status"] == "failed" and bug["message"] == ("internal error (a bug in greendc, please report it): "
                                                            "BoomError")


def test_bad_job_requests_are_one_line_naming_the_field(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    site_id = add_site(client)
    cases = [({"kind": "simulation", "site_id": site_id, "controller": "magic"}, "controller: unknown controller"),
             ({"kind": "simulation", "site_id": site_id, "controller": "ai"}, "model_id: the ai controller needs"),
             ({"kind": "simulation", "site_id": site_id, "days": 0}, "days:"),
             ({"kind": "bench", "site_id": site_id, "climates": ["mars"]}, "climates: unknown 'mars'"),
             ({"kind": "simulation", "site_id": site_id, "model_id": 999}, "model_id: no model 999"),
             ({"kind": "simulation", "site_id": site_id, "model_id": 2**63}, "model_id: no model"),
             ({"kind": "sweep", "site_id": site_id}, "kind"), ({"kind": "simulation"}, "site_id")]
    for body, start in cases:
        answer = client.post("/api/jobs", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert start in answer.json()["detail"], (body, answer.json())
    assert client.get("/api/jobs").json() == []  # none was queued
    # An id beyond what the tables hold names no row (PostgreSQL would refuse it as out of range).
    for path in (f"/api/jobs/{2**63}", f"/api/sites/{2**63}", f"/api/jobs/{2**40}/files/summary.json"):
        assert client.get(path).status_code == 404, path
    assert client.post("/api/jobs", json={"kind": "bench", "site_id": 2**63}).status_code == 404
    assert client.get("/api/jobs", params={"site_id": 2**63}).json() == []


def test_only_an_operator_of_the_organization_submits(make_client, anonymous) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    site_id = add_site(client)
    viewer = make_client("vic", role="viewer")
    body = {"kind": "simulation", "site_id": site_id, "days": 2}
    assert viewer.post("/api/jobs", json=body).status_code == 403
    assert anonymous.post("/api/jobs", json=body).status_code == 401
    assert make_client("tom", organization="other").post("/api/jobs", json=body).status_code == 404
    assert viewer.post(f"/sites/{site_id}/jobs", data={"kind": "simulation"}).status_code == 403
    assert client.get("/api/jobs").json() == []
    assert viewer.get("/api/jobs").status_code == 200


def test_jobs_left_by_a_stopped_service_are_failed_at_the_next_start(app, settings, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    with session_factory(app.state.engine)() as db:
        org = db.scalar(select(Organization).where(Organization.name == "acme"))
        ids = []
        for status in ("queued", "running"):
            job = JobRecord(organization_id=org.id, kind="simulation", parameters={}, status=status)
            db.add(job)
            db.flush()
            ids.append(job.id)
        db.commit()
    restarted = create_app(settings)
    try:
        for job_id in ids:
            job = client.get(f"/api/jobs/{job_id}").json()
            assert job["status"] == "failed" and job["message"] == INTERRUPTED
    finally:
        restarted.state.engine.dispose()


def test_a_short_bench_from_the_site_page_fills_the_bench_table(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    site_id = add_site(client)
    form = client.post(f"/sites/{site_id}/jobs", data={"kind": "bench", "controllers": ["default", "rbc"],
                                                        "days": "2"})
    assert form.status_code == 200 and 'hx-trigger="every 2s"' in form.text  # the new row polls itself
    [job] = client.get("/api/jobs", params={"kind": "bench"}).json()
    ended, _ = wait_for(client, job["id"])
    assert ended["status"] == "succeeded", ended["message"]
    records = client.get(f"/api/benches/{job['id']}").json()
    assert [(r["climate"], r["controller"]) for r in records] == [("chicago", "default"), ("chicago", "rbc")]
    page = client.get(f"/benches/{job['id']}").text
    for header in ("IT MWh", "cooling MWh", "facility MWh", "PUE", "inlet max C"):
        assert header in page
    assert "site default rules" in page and "rule-based" in page
    assert f"bench {job['id']}" in client.get("/benches").text
    refused = client.post(f"/sites/{site_id}/jobs", data={"kind": "simulation", "days": "zero"})
    assert refused.status_code == 200 and "days:" in refused.text


def test_a_trained_model_drives_the_ai_whose_decisions_the_site_page_explains(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    site_id = add_site(client, simulation={**example_site_data()["simulation"], "end_day": 8})
    form = client.post(f"/sites/{site_id}/jobs", data={"kind": "training", "days": "2"})  # the page's form
    assert form.status_code == 200 and "Model training" in form.text
    [too_short] = client.get("/api/jobs", params={"kind": "training"}).json()
    failed, _ = wait_for(client, too_short["id"])
    assert failed["status"] == "failed" and failed["message"].startswith("exploration: ")
    assert "the facility model needs at least" in failed["message"] and "/organizations/" not in failed["message"]
    training = client.post("/api/jobs", json={"kind": "training", "site_id": site_id, "days": 8, "seed": 3,
                                              "model_name": "July model"})
    assert training.status_code == 202, training.text
    trained, _ = wait_for(client, training.json()["id"])
    assert trained["status"] == "succeeded", trained["message"]
    [model] = client.get("/api/models").json()
    assert model["id"] == trained["trained_model_id"] and model["source"] == "trained"
    assert model["name"] == "July model" and model["site_id"] == site_id
    run = client.post("/api/jobs", json={"kind": "simulation", "site_id": site_id, "controller": "ai",
                                         "model_id": model["id"], "days": 2})
    assert run.status_code == 202, run.text
    ended, _ = wait_for(client, run.json()["id"])
    assert ended["status"] == "succeeded", ended["message"]
    assert "decisions.parquet" in {f["name"] for f in ended["files"]}
    page = client.get(f"/sites/{site_id}").text
    assert "Decision log" in page and "Guard activity" in page and "ai optimizer" in page
    assert "predicted saving" in page and "dx_coils" not in page


def test_stopping_the_service_ends_a_running_simulation_at_once(app, make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client("olga")
    site_id = add_site(client, simulation={**example_site_data()["simulation"], "end_day": 31})  # long enough
    job_id = client.post("/api/jobs", json={"kind": "simulation", "site_id": site_id}).json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{job_id}").json()["progress_fraction"] <= 0.02 and time.monotonic() < deadline:
        time.sleep(0.05)  # until EnergyPlus reports progress: its process is running
    started = time.monotonic()
    app.state.jobs.stop()
    assert time.monotonic() - started < 5.0
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["message"] == INTERRUPTED
