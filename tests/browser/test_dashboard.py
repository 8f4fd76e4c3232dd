"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright (never ``playwright install``)
against ``greendc serve`` on a free 127.0.0.1 port: log in, add a site, run a 2-day simulation and watch it
finish, approve an agent's recommendation, render and download a report. Screenshots are kept in the test's
folder and copied to /tmp/greendc-screens/. Where ``CI`` is set a missing Chromium fails the test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENS = Path("/tmp/greendc-screens")
PASSWORD = "a-long-browser-password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``greendc serve`` on a new SQLite database with an operator; yields its base URL."""
    if not CHROMIUM.exists():
        message = "Chromium is not installed: .ci/run installs Debian's chromium package"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("served")
    options = ["--db", f"sqlite:///{folder / 'service.db'}", "--data-dir", str(folder / "data")]
    subprocess.run([sys.executable, "-m", "greendc", "users", "create", "olga", "--role", "operator",
                    "--organization", "acme", *options], input=PASSWORD + "\n", text=True, check=True,
                   capture_output=True, timeout=120)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = subprocess.Popen([sys.executable, "-m", "greendc", "serve", *options, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("greendc serve did not answer within a minute")
        yield base
    finally:
        served.terminate()
        served.wait(timeout=30)


def shot(page, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    """A full-page screenshot in the test's folder and in /tmp/greendc-screens/, to be looked at."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENS / path.name)


def seed_recommendation(base: str, site_id: int) -> None:
    """An advisory agent on the site with one pending recommendation, through the agents' API."""
    with httpx.Client(base_url=base, timeout=30) as client:
        login = client.post("/api/login", json={"name": "olga", "password": PASSWORD}).json()
        client.headers["X-CSRF-Token"] = login["csrf_token"]
        token = client.post("/api/tokens", json={"name": "agent"}).json()["token"]
        agent = client.post("/api/agents", json={"name": "West BMS agent", "site_id": site_id, "mode": "advisory",
                                                 "controller": "ai"}).json()
    step = {"telemetry": [{"time": "2024-07-01T12:00:00", "values": {"West Hall/inlet_temp_c": 24.5,
                                                                     "East Hall/inlet_temp_c": 23.0}}],
            "decisions": [{"time": "2024-07-01T12:00:00", "setpoints": {"West Hall/supply_air_setpoint_c": 19.5},
                           "explanation": "warmer supply air keeps every inlet under 27 C for less cooling"}]}
    answer = httpx.post(f"{base}/api/agents/{agent['id']}/steps", json=step, timeout=30,
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


def test_an_operator_works_through_the_dashboard(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
        page.goto(f"{server}/")
        expect(page).to_have_url(f"{server}/login?next=/")
        page.fill("#name", "olga")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{server}/")
        shot(page, tmp_path, "1-fleet")

        page.goto(f"{server}/sites/new")
        page.fill("#site_yaml", (ROOT / "examples" / "sites" / "two-hall-chicago.yaml").read_text())
        page.get_by_role("button", name="Add site").click()
        page.wait_for_url(f"{server}/sites/*")
        site_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
        expect(page.locator("h1")).to_contain_text("Two-hall")

        page.fill("#sim-days", "2")
        page.get_by_role("button", name="Start simulation").click()
        expect(page.locator("#job-list .badge").first).to_have_text("done", timeout=240_000)
        shot(page, tmp_path, "2-site-simulated")

        seed_recommendation(server, site_id)
        page.reload()
        approve = page.locator("button", has_text="Approve").first
        expect(approve).to_be_visible(timeout=15_000)
        shot(page, tmp_path, "3-site-recommendation")
        approve.click()
        expect(page.locator("button", has_text="Approve")).to_have_count(0, timeout=15_000)
        expect(page.locator(f"#site-live-{site_id}")).to_contain_text("approved")

        page.goto(f"{server}/reports")
        page.fill("#inventory-name", "Tencent 2023")
        page.fill("#inventory-yaml", (ROOT / "examples" / "inventories" / "tencent-2023.yaml").read_text())
        page.get_by_role("button", name="Upload inventory").click()
        page.get_by_role("button", name="Render report").first.click()
        pdf = page.locator("a", has_text="PDF").first
        expect(pdf).to_be_visible(timeout=240_000)
        shot(page, tmp_path, "4-reports")
        with page.expect_download() as download:
            pdf.click()
        saved = tmp_path / "report.pdf"
        download.value.save_as(str(saved))
        assert saved.read_bytes().startswith(b"%PDF")
        browser.close()
