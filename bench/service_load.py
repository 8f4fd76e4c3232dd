"""A bounded load test of ``greendc serve`` on 127.0.0.1 (issue 19, item 6).

Starts ``greendc serve`` as a subprocess (a new SQLite file by default, or ``--db`` a PostgreSQL URL, upgraded
first), creates an organization with an admin, dashboard users, sites and agents through the API, then runs
for ``--minutes``:

- ``--users`` dashboard users (default 50), each logged in with its own session, requesting the fleet
  overview ``/``, a site page ``/sites/{id}`` and the reports page ``/reports`` in turn, with a think time of
  ``--think-s`` (default 1-5 s, uniform) between pages;
- ``--agents`` agents (default 5), each with its own API token, posting one control step of telemetry and a
  decision to ``POST /api/agents/{id}/steps`` every ``--step-s`` (default 15 s).

It reports each page's p50/p95/p99 latency (ms, time to the whole answer), every error (an answer other than
200, or no answer), and the telemetry rows sent against the rows the database holds at the end (a lost row is
one sent, answered 200, and not stored). The figures go to ``bench/results/service_load.json``.

    python bench/service_load.py --minutes 10
    python bench/service_load.py --minutes 1 --db postgresql+psycopg://USER@127.0.0.1:5432/greendc_load
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SITE_FILE = ROOT / "examples" / "sites" / "two-hall-chicago.yaml"
RESULTS = ROOT / "bench" / "results" / "service_load.json"
PASSWORD = "load-test-password"
HALLS = ("West Hall", "East Hall")
#: The building's clock advances one control step (15 min) per post, from this time.
BUILDING_START = datetime(2024, 7, 1, tzinfo=UTC)
#: Seconds between two dashboard users' logins at the start.
LOGIN_SPACING_S = 1.0


@dataclass
class Tally:
    """What the run measured: latencies by page (s), errors, telemetry rows."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    telemetry_sent: int = 0
    telemetry_stored: int = 0
    posts: list[float] = field(default_factory=list)

    def timed(self, page: str, seconds: float) -> None:
        self.latencies.setdefault(page, []).append(seconds)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def greendc(*arguments: str, stdin: str | None = None) -> None:
    """Run a greendc command (exit status checked)."""
    subprocess.run([sys.executable, "-m", "greendc", *arguments], input=stdin, text=True, check=True,
                   capture_output=True, timeout=300)


def start_server(database_url: str, data_dir: Path, port: int) -> subprocess.Popen[str]:
    """``greendc serve`` on 127.0.0.1:port with an admin created first; returns once it answers."""
    greendc("db", "upgrade", "--db", database_url, "--data-dir", str(data_dir))
    greendc("users", "create", "load-admin", "--role", "admin", "--organization", "loadtest", "--db", database_url,
            "--data-dir", str(data_dir), stdin=PASSWORD + "\n")
    server = subprocess.Popen([sys.executable, "-m", "greendc", "serve", "--db", database_url, "--data-dir",
                               str(data_dir), "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
        if server.poll() is not None:
            raise SystemExit(f"greendc serve stopped: {server.stdout.read() if server.stdout else ''}")
    server.terminate()
    raise SystemExit("greendc serve did not answer within 60 s")


async def logged_in(base: str, name: str) -> httpx.AsyncClient:
    """A client with a session cookie and the CSRF header, as the dashboard's pages send it."""
    client = httpx.AsyncClient(base_url=base, timeout=30)
    answer = await client.post("/api/login", json={"name": name, "password": PASSWORD})
    answer.raise_for_status()
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def site_yaml(n: int) -> str:
    """The example two-hall site under another name (a site's name is unique in its organization)."""
    text = SITE_FILE.read_text()
    return text.replace("name: Two-hall example data center", f"name: Load test site {n + 1}", 1)


async def set_up(base: str, users: int, agents: int) -> tuple[list[int], list[tuple[int, str]]]:
    """Sites, dashboard users and agents (with their tokens); the site ids and (agent id, token) pairs."""
    admin = await logged_in(base, "load-admin")
    try:
        site_ids = []
        for n in range(max(agents, 1)):
            answer = await admin.post("/api/sites", json={"site_yaml": site_yaml(n), "file_name": f"site-{n}.yaml"})
            answer.raise_for_status()
            site_ids.append(answer.json()["id"])
        for n in range(users):
            role = "operator" if n % 5 == 0 else "viewer"
            answer = await admin.post("/api/users", json={"name": f"user{n}", "password": PASSWORD, "role": role})
            answer.raise_for_status()
        agent_tokens = []
        for n in range(agents):
            answer = await admin.post("/api/agents", json={"name": f"agent-{n + 1}", "site_id": site_ids[n],
                                                           "mode": "advisory", "controller": "ai"})
            answer.raise_for_status()
            token = (await admin.post("/api/tokens", json={"name": f"agent-{n + 1}"})).json()["token"]
            agent_tokens.append((answer.json()["id"], token))
        return site_ids, agent_tokens
    finally:
        await admin.aclose()


async def dashboard_user(base: str, n: int, site_ids: list[int], deadline: float, think_s: tuple[float, float],
                         tally: Tally) -> None:
    """One person at the dashboard: the three pages in turn, a think time between them."""
    rng = random.Random(n)
    # People arrive over the first minute, not all in one second: 50 logins at once (argon2 each) on SQLite
    # held the write lock past its 30 s timeout (see bench/README.md).
    await asyncio.sleep(n * LOGIN_SPACING_S)
    client = await logged_in(base, f"user{n}")
    try:
        pages = ["/", "/sites/{id}", "/reports"]
        turn = rng.randrange(len(pages))
        while time.monotonic() < deadline:
            page = pages[turn % len(pages)]
            turn += 1
            url = page.replace("{id}", str(rng.choice(site_ids)))
            started = time.perf_counter()
            try:
                answer = await client.get(url)
                if answer.status_code != 200:
                    tally.errors.append(f"{page}: {answer.status_code} {answer.text[:120]}")
            except httpx.HTTPError as error:
                tally.errors.append(f"{page}: {type(error).__name__} {error}")
            tally.timed(page, time.perf_counter() - started)
            await asyncio.sleep(rng.uniform(*think_s))
    finally:
        await client.aclose()


def one_step(k: int) -> dict[str, Any]:
    """Control step ``k`` of an agent: both halls' inlets, supply air and the facility, and the ai's decision."""
    time_text = (BUILDING_START + timedelta(minutes=15 * k)).isoformat()
    values: dict[str, float | None] = {"outdoor_dry_bulb_c": 24.0 + (k % 12) * 0.5}
    setpoints: dict[str, float | None] = {}
    for i, hall in enumerate(HALLS):
        values[f"{hall}/inlet_temp_c"] = 23.5 + i + (k % 7) * 0.2
        values[f"{hall}/supply_air_temp_c"] = 17.0 + i
        setpoints[f"{hall}/supply_air_setpoint_c"] = 17.5 + i
    return {"telemetry": [{"time": time_text, "values": values, "agent_guard": "none"}],
            "decisions": [{"time": time_text, "setpoints": setpoints, "guard": "none",
                           "explanation": "the same inlets for less cooling electricity"}]}


async def agent(base: str, agent_id: int, token: str, deadline: float, step_s: float, tally: Tally) -> None:
    """One agent: a step every ``step_s``, as ``greendc agent --service`` posts them."""
    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        k = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                answer = await client.post(f"/api/agents/{agent_id}/steps", json=one_step(k))
                tally.telemetry_sent += 1
                if answer.status_code == 200:
                    tally.telemetry_stored += answer.json()["telemetry_stored"]
                else:
                    tally.errors.append(f"steps: {answer.status_code} {answer.text[:120]}")
            except httpx.HTTPError as error:
                tally.errors.append(f"steps: {type(error).__name__} {error}")
            tally.posts.append(time.perf_counter() - started)
            k += 1
            await asyncio.sleep(max(0.0, step_s - (time.perf_counter() - started)))


def rows_in_database(database_url: str) -> int:
    from sqlalchemy import func, select

    from greendc.service.database import TelemetryRow, make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(TelemetryRow)).scalar_one())
    finally:
        engine.dispose()


def percentiles_ms(seconds: list[float]) -> dict[str, float | int]:
    if not seconds:
        return {"requests": 0}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive") if len(seconds) > 1 else [seconds[0]] * 99
    return {"requests": len(seconds), "p50_ms": round(cuts[49] * 1000, 1), "p95_ms": round(cuts[94] * 1000, 1),
            "p99_ms": round(cuts[98] * 1000, 1), "max_ms": round(max(seconds) * 1000, 1)}


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far (Linux), s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(base: str, args: argparse.Namespace, tally: Tally) -> dict[str, Any]:
    site_ids, agent_tokens = await set_up(base, args.users, args.agents)
    deadline = time.monotonic() + args.minutes * 60
    think = (args.think_s[0], args.think_s[1])
    await asyncio.gather(*(dashboard_user(base, n, site_ids, deadline, think, tally) for n in range(args.users)),
                         *(agent(base, agent_id, token, deadline, args.step_s, tally)
                           for agent_id, token in agent_tokens))
    return {"sites": len(site_ids), "agents": len(agent_tokens)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="How long the load runs (default 10).")
    parser.add_argument("--users", type=int, default=50, help="Concurrent dashboard users (default 50).")
    parser.add_argument("--agents", type=int, default=5, help="Agents posting telemetry (default 5).")
    parser.add_argument("--step-s", type=float, default=15.0, help="Seconds between an agent's posts (default 15).")
    parser.add_argument("--think-s", type=float, nargs=2, default=(1.0, 5.0), metavar=("MIN", "MAX"),
                        help="A user's think time between pages, uniform, s (default 1 5).")
    parser.add_argument("--db", help="SQLAlchemy URL of an empty database (default: a new SQLite file).")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"Results JSON (default {RESULTS}).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="greendc-load-") as folder:
        data_dir = Path(folder) / "data"
        database_url = args.db or f"sqlite:///{Path(folder) / 'service.db'}"
        port = free_port()
        server = start_server(database_url, data_dir, port)
        tally = Tally()
        try:
            cpu_before, started = cpu_seconds(server.pid), time.monotonic()
            made = asyncio.run(load(f"http://127.0.0.1:{port}", args, tally))
            elapsed, server_cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_before
        finally:
            server.terminate()
            server.wait(timeout=30)
        counted = rows_in_database(database_url)
    result = {
        "command": "python bench/service_load.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "database": database_url.split(":", 1)[0].split("+", 1)[0],
        "minutes": args.minutes, "dashboard_users": args.users, "agent_step_s": args.step_s,
        "think_s": list(args.think_s), **made, "elapsed_s": round(elapsed, 1),
        "server_cpu_s": round(server_cpu, 1), "server_cpu_cores": round(server_cpu / elapsed, 2),
        "pages": {page: percentiles_ms(seconds) for page, seconds in sorted(tally.latencies.items())},
        "all_pages": percentiles_ms([s for seconds in tally.latencies.values() for s in seconds]),
        "telemetry_posts": percentiles_ms(tally.posts),
        "errors": len(tally.errors), "error_examples": sorted(set(tally.errors))[:20],
        "telemetry_rows_sent": tally.telemetry_sent, "telemetry_rows_stored": tally.telemetry_stored,
        "telemetry_rows_in_database": counted, "telemetry_rows_lost": tally.telemetry_sent - counted,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
