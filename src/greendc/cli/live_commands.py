"""``greendc points``, ``greendc bms`` and ``greendc agent``: live operation on a building management system."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from greendc.cli.ab_options import ABBaselineOption, ABBlockDaysOption, ScheduleOption
from greendc.errors import UsageError

# Wide enough for tables when output goes to a file or a CI log, as the main command line.
console = Console(width=None if sys.stdout.isatty() else 150)
points_app = typer.Typer(help="Point maps: where a site's sensors and setpoints live on its BMS.", no_args_is_help=True)
bms_app = typer.Typer(help="The twin served as a virtual building over BACnet/IP and Modbus TCP.",
                      no_args_is_help=True)

BacnetOption = Annotated[str, typer.Option("--bacnet", help="HOST:PORT of the BACnet/IP device (UDP).")]
ModbusOption = Annotated[str, typer.Option("--modbus", help="HOST:PORT of the Modbus TCP server.")]
WatchdogOption = Annotated[float, typer.Option("--watchdog-s", help="Seconds without a heartbeat after which the "
                                                                    "building drops the agent's commands.")]


@points_app.command("template")
def template(
    site_file: Annotated[Path, typer.Argument(help="The site YAML file.", metavar="SITE")],
    out: Annotated[Path | None, typer.Option(help="Write the map here (default: print it).")] = None,
    bacnet: BacnetOption = "127.0.0.1:47808",
    modbus: ModbusOption = "127.0.0.1:5020",
    watchdog_s: WatchdogOption = 60.0,
) -> None:
    """Write a complete point map for a site: every observed sensor and every setpoint, as a starting point."""
    from greendc.atomic import write_file_atomic
    from greendc.bms.template import point_map_template, point_map_yaml
    from greendc.site.loader import load_site

    site, _ = load_site(site_file)
    site_ref = str(site_file.resolve()) if out is None else _relative(site_file, out)
    text = point_map_yaml(point_map_template(site, site_ref, bacnet, modbus, watchdog_s))
    if out is None:
        typer.echo(text, nl=False)
        return
    write_file_atomic(out, lambda stream: stream.write(text.encode("utf-8")))
    console.print(f"Point map for {site.name}: [bold]{out}[/] ({text.count('  - {')} points)")


def _relative(site_file: Path, out: Path) -> str:
    """The site's path as the map names it: relative to the map's folder where it can be."""
    import os

    return os.path.relpath(site_file.resolve(), out.resolve().parent)


@bms_app.command("serve")
def serve(
    site_file: Annotated[Path, typer.Argument(help="The site YAML file.", metavar="SITE")],
    bacnet: BacnetOption = "127.0.0.1:47808",
    modbus: ModbusOption = "127.0.0.1:5020",
    speed: Annotated[float, typer.Option(help="Times real time: 60 runs a 15-minute step in 15 s.")] = 60.0,
    start: Annotated[str | None, typer.Option(help="First day, MM-DD (default: the site's run period).")] = None,
    days: Annotated[int | None, typer.Option(help="Days to run (default: the site's run period).")] = None,
    watchdog_s: WatchdogOption = 60.0,
    weather: Annotated[str | None, typer.Option(help="Weather instead of the site's.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the building's true telemetry and summary.")] = Path(
        "greendc-building"),
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the summary here.")] = None,
) -> None:
    """Run the site's twin as a building that serves its points; Ctrl-C or SIGTERM ends it (telemetry kept)."""
    from greendc.bms.template import point_map_template
    from greendc.site.loader import load_site
    from greendc.workflows.virtual_building import serve_building, with_run_period, write_building_files

    if out.exists():
        raise UsageError(f"--out: {out} exists; the building writes a new folder")
    site, site_dir = load_site(site_file)
    site = with_run_period(site, start, days)
    point_map = point_map_template(site, str(site_file), bacnet, modbus, watchdog_s)
    stop = threading.Event()
    for sign in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sign, lambda *_: stop.set())
    console.print(f"[bold]{site.name}[/] served at {speed:g}x real time: BACnet/IP {bacnet}, Modbus TCP {modbus} "
                  "(no authentication: loopback or a segregated network only). Ctrl-C stops it.")
    run = asyncio.run(serve_building(site, site_dir, point_map, speed, weather=weather, stop=stop,
                                     on_ready=lambda: console.print("listening")))
    folder = write_building_files(run, site, out, json_out)
    console.print(f"{run.pace.steps} steps ({run.pace.late_steps} late, most {run.pace.max_lag_s:.2f} s), "
                  f"{run.watchdog.agent_writes} agent writes, {run.watchdog.watchdog_trips} watchdog trips; "
                  f"telemetry and summary in [bold]{folder}[/]")


def agent(
    points: Annotated[Path, typer.Argument(help="The point map YAML.", metavar="POINTS")],
    controller: Annotated[str, typer.Option(help="Controller: default, rbc, trim-respond or ai.")],
    mode: Annotated[str, typer.Option(help="read-only, advisory or closed-loop.")] = "read-only",
    model: Annotated[Path | None, typer.Option(help="The ai's facility model.")] = None,
    objective: Annotated[str, typer.Option(help="The ai's objective: facility or cooling.")] = "facility",
    interval: Annotated[float, typer.Option(help="Control step, s (with a clock point: the longest wait).")] = 900.0,
    steps: Annotated[int | None, typer.Option(help="Stop after this many steps (default: until stopped).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for live telemetry, decisions and the ledger.")] = Path(
        "greendc-agent"),
    accept_model_mismatch: Annotated[bool, typer.Option(help="Use an ai model on a site it does not fit.")] = False,
    schedule: ScheduleOption = None,
    ab_baseline: ABBaselineOption = None,
    ab_block_days: ABBlockDaysOption = None,
    service: Annotated[str | None, typer.Option(help="The greendc service's URL: report telemetry and decisions, "
                                                     "obey its kill switch and approvals.")] = None,
    token_file: Annotated[Path | None, typer.Option(help="A file holding the service's API token (an operator's).")
                          ] = None,
    agent_id: Annotated[int | None, typer.Option(help="The agent's id on the service (registered there).")] = None,
) -> None:
    """Connect to a BMS with a point map: read-only, advisory or closed-loop; Ctrl-C gives every point back."""
    from greendc.control.ab_schedule import parse_ab_options
    from greendc.workflows.live import AgentJob, run_agent

    job = AgentJob(points=points, controller=controller, mode=mode, interval_s=interval, out_dir=out,  # type: ignore[arg-type]
                   model=model, objective=objective, max_steps=steps, accept_model_mismatch=accept_model_mismatch,
                   ab=parse_ab_options(schedule, ab_baseline, ab_block_days),
                   service=_service_connection(service, token_file, agent_id))
    summary = run_agent(job, log=lambda line: console.print(line, highlight=False, markup=False))
    console.print(f"{summary.steps} steps, {summary.writes} writes, {summary.relinquishes} points given back; "
                  f"telemetry in [bold]{out}[/]")


def _service_connection(url: str | None, token_file: Path | None, agent_id: int | None):  # type: ignore[no-untyped-def]
    """The service to report to, checked before the agent starts (None without --service)."""
    from greendc.agent.service_link import ServiceConnection

    if url is None:
        if token_file is not None or agent_id is not None:
            raise UsageError("--token-file and --agent-id need --service URL")
        return None
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--service: an http:// or https:// URL, not {url[:80]!r}")
    if token_file is None or agent_id is None:
        raise UsageError("--service needs --token-file FILE (an operator's API token) and --agent-id ID")
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise UsageError(f"--token-file: {token_file}: {error.strerror or error}") from error
    if not token:
        raise UsageError(f"--token-file: {token_file} is empty")
    return ServiceConnection(url=url, token=token, agent_id=agent_id)


def register(app: typer.Typer) -> None:
    """Add ``points``, ``bms`` and ``agent`` to the main ``greendc`` app."""
    app.add_typer(points_app, name="points")
    app.add_typer(bms_app, name="bms")
    app.command("agent")(agent)


def live_demo(out: Path, overwrite: bool, days: int) -> None:
    """``greendc demo --live``: the example site over the wire, next to its in-process co-simulation."""
    from rich.table import Table

    from greendc.workflows.live_demo import DEMO_SLOT_S, DEMO_START, LIVE_CONTROLLERS, run_live_demo

    console.print(f"[bold]greendc live demo[/]: the example site served as a virtual building on 127.0.0.1 "
                  f"(BACnet/IP and Modbus TCP), {days} days from {DEMO_START} at {900 / DEMO_SLOT_S:,.0f}x real "
                  f"time, each controller driven by the agent in closed loop (about "
                  f"{days * 96 * DEMO_SLOT_S * len(LIVE_CONTROLLERS) / 60:.0f} minutes)")
    comparisons = run_live_demo(out, overwrite, days=days, on_controller=lambda name: console.print(
        f"{name}: the building and the agent over the wire, then the in-process co-simulation"))
    table = Table(title=f"{days} day(s) of the example data center, live and in-process", title_justify="left")
    for header in ("controller", "run", "facility kWh", "cooling kWh", "PUE", "inlet max C", ">27 C", "<18 C",
                   "humid", "live vs in-process"):
        table.add_column(header, justify="left" if header in ("controller", "run") else "right")
    for comparison in comparisons:
        runs = (("live (BACnet/IP, Modbus TCP)", comparison.live), ("in-process", comparison.in_process))
        for label, summary in runs:
            difference = f"{100 * comparison.facility_difference:+.2f} %" if label != "in-process" else ""
            table.add_row(comparison.controller, label, f"{summary.facility_kwh:,.1f}", f"{summary.cooling_kwh:,.1f}",
                          f"{summary.pue:.3f}", f"{summary.inlet_max_c:.1f}", str(summary.steps_above_27c),
                          str(summary.steps_below_18c), str(summary.steps_humid), difference)
    console.print(table)
    for comparison in comparisons:
        p99 = comparison.agent.step_s_quantile(0.99)
        p99 = float("nan") if p99 is None else p99
        console.print(f"{comparison.controller}: {comparison.agent.steps} agent steps (p99 {1000 * p99:.0f} ms), "
                      f"{comparison.building.watchdog.agent_writes} writes at priority 13, "
                      f"{comparison.building.pace.late_steps} late building steps")
    console.print(f"Telemetry of the building and of the agent per controller, and comparison.json: [bold]{out}[/]")
