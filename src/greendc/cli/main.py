"""The ``greendc`` command line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup
from typer.exceptions import TyperException

from greendc.cli.ab_options import ABBaselineOption, ABBlockDaysOption, ScheduleOption
from greendc.cli.carbon_commands import register as register_carbon_commands
from greendc.cli.fleet_commands import register as register_fleet_commands
from greendc.cli.live_commands import register as register_live_commands
from greendc.cli.service_commands import register as register_service_commands
from greendc.cli.verify_commands import register as register_verify_commands
from greendc.errors import QUOTE_LIMIT_CHARS, GreendcError, UsageError

if TYPE_CHECKING:
    from greendc.results.records import RunSummary


class _CommandGroup(TyperGroup):
    """The one place a user-facing error becomes one red line and exit code 2 (a traceback with --debug).

    Anything else that escapes is a bug in greendc: one line that says so, exit code 1, and the traceback
    with --debug. Ctrl-C stops a command with one line and exit code 130.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except GreendcError as error:
            if _state["debug"]:
                raise
            error_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            if _state["debug"]:
                raise
            error_console.print("[bold red]stopped[/] (Ctrl-C): nothing was written for the unfinished run",
                                markup=True, highlight=False)
            raise typer.Exit(code=130) from None
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as error:
            if _state["debug"]:
                raise
            error_console.print(f"[bold red]internal error[/] (a bug in greendc, please report it): "
                                f"{type(error).__name__}: {escape(str(error)[:QUOTE_LIMIT_CHARS])}; rerun with --debug "
                                "for the traceback", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(code=1) from None


app = typer.Typer(
    cls=_CommandGroup,
    name="greendc",
    help="Make data centers greener: simulate a site, compare cooling controllers, report carbon.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Wide enough for the results table when output goes to a file or CI log.
console = Console(width=None if sys.stdout.isatty() else 150)
error_console = Console(stderr=True)
_state = {"debug": False}


register_carbon_commands(app)
register_live_commands(app)
register_verify_commands(app)
register_service_commands(app)
register_fleet_commands(app)


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=console, transient=False,
    )


def _summary_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    columns = [
        ("climate", "climate", "{}"), ("controller", "controller", "{}"), ("IT MWh", "it_kwh", "{:.1f}"),
        ("cooling MWh", "cooling_kwh", "{:.1f}"), ("facility MWh", "facility_kwh", "{:.1f}"),
        ("PUE", "pue", "{:.3f}"), ("inlet max C", "inlet_max_c", "{:.1f}"), (">27 C", "steps_above_27c", "{}"),
        (">32 C", "steps_above_32c", "{}"), ("<18 C", "steps_below_18c", "{}"), ("humid", "steps_humid", "{}"),
    ]
    columns = [c for c in columns if any(row.get(c[1]) is not None for row in rows)]
    if any(row.get("error") for row in rows):  # e.g. a climate without an oracle
        columns.append(("note", "error", "{}"))
    for header, _, _ in columns:
        table.add_column(header, justify="left" if header in ("climate", "controller") else "right")
    for row in rows:
        cells = []
        for _, key, fmt in columns:
            value = row.get(key)
            value = "" if value is None else value
            if key.endswith("_kwh") and isinstance(value, float):
                value = value / 1000.0
            cells.append(fmt.format(value) if value != "" else "")
        table.add_row(*cells)
    return table


def _run_with_progress(description: str, run: Callable[[Callable[[float], None]], Any]) -> Any:
    with _progress() as progress:
        task = progress.add_task(description, total=1.0)
        result = run(lambda fraction: progress.update(task, completed=fraction))
        progress.update(task, completed=1.0)
    return result


def _lower_or_higher(reduction: float) -> str:
    return "lower" if reduction >= 0 else "higher"


@app.command()
def simulate(
    site_file: Annotated[Path, typer.Argument(help="Site description (YAML), see examples/sites/.")],
    controller: Annotated[str, typer.Option(help="default | rbc | trim-respond | explore | ai")] = "default",
    weather: Annotated[str | None, typer.Option(help="Weather short name or EPW path (overrides the site's).")] = None,
    out: Annotated[Path | None, typer.Option(help="Results directory (default greendc-out/SITE-CONTROLLER).")] = None,
    model: ModelOption = None,
    objective: ObjectiveOption = "facility",
    advisory: AdvisoryOption = False,
    kill_switch: KillSwitchOption = None,
    overwrite: OverwriteOption = False,
    faults_file: FaultsOption = None,
    accept_model_mismatch: AcceptMismatchOption = False,
    schedule: ScheduleOption = None,
    ab_baseline: ABBaselineOption = None,
    ab_block_days: ABBlockDaysOption = None,
) -> None:
    """Simulate a site's run period under one controller and save telemetry and an annual summary."""
    from greendc.control.ab_schedule import parse_ab_options
    from greendc.results.store import claim_output_folder
    from greendc.site.loader import load_site
    from greendc.workflows.explore import slug
    from greendc.workflows.simulation import write_run_files

    ab = parse_ab_options(schedule, ab_baseline, ab_block_days)
    if ab is not None and advisory:
        raise UsageError("--schedule: A/B switching compares two controllers in charge; --advisory leaves the "
                         "site's own control in charge in both arms")
    site, site_dir = load_site(site_file)
    faults = _load_faults(faults_file, site)
    with claim_output_folder(out or Path("greendc-out") / f"{slug(site.name)}-{controller}", "simulation",
                             overwrite) as folder:
        outcome = _simulate_one(site, site_dir, controller, weather, model, objective, advisory, kill_switch,
                                faults, accept_model_mismatch, ab)
        out_dir = folder.write(lambda staging: write_run_files(outcome, staging))
    summary = outcome.summary
    console.print(_summary_table([{**summary.model_dump(), "climate": weather or site.weather}], f"{site.name}"))
    _print_severe(summary)
    _print_faults(summary.faults)
    if summary.decisions is not None:
        console.print(f"{summary.decisions} decisions, median {summary.decision_ms_median:.1f} ms; guards: "
                      f"{summary.guard_counts}; explain with: greendc explain {out_dir}")
    if summary.ab_schedule is not None:
        record = summary.ab_schedule
        console.print(f"A/B switching (seed {record.seed}, {record.block_days}-day blocks): {record.candidate_blocks} "
                      f"blocks under {record.candidate_controller}, {record.baseline_blocks} under "
                      f"{record.baseline_controller}; telemetry column ab_arm", highlight=False)
    console.print(f"Results in [bold]{out_dir}[/]: summary.json, telemetry.parquet, model.epJSON")


def _simulate_one(site: Any, site_dir: Path, controller: str, weather: str | None, model: Path | None,
                  objective: str, advisory: bool, kill_switch: Path | None, faults: tuple[Any, ...] = (),
                  accept_model_mismatch: bool = False, ab: Any = None) -> Any:
    from dataclasses import replace

    from greendc.site.weather import resolve_weather
    from greendc.workflows.simulation import SimulationJob, controller_options, simulate_many

    resolve_weather(weather or site.weather, relative_to=site_dir)  # a missing file fails before the run
    names = [controller] if ab is None else [controller, ab.baseline]
    options = controller_options(names, [z.name for z in site.zones], model, objective, advisory, kill_switch,
                                 accept_model_mismatch)
    if "ai" in names:
        _print_model_warnings(site, model, accept_model_mismatch)
    if ab is not None:
        ab = replace(ab, baseline_options=options[ab.baseline])
    job = SimulationJob(site, site_dir, controller, weather, options[controller], faults=faults, ab=ab)
    [outcome] = _run_with_progress(
        f"{site.name}: {controller}",
        lambda report: simulate_many([job], workers=1, on_progress=lambda _, fraction: report(fraction)),
    )
    return outcome


def _print_model_warnings(site: Any, model: Path, accept_model_mismatch: bool) -> None:
    """One yellow line when the site differs from the one the ai's model learned from (refusals raise)."""
    from greendc.workflows.simulation import model_site_warnings

    warnings = model_site_warnings(site, model, accept_model_mismatch)
    if warnings:
        console.print(f"[yellow]Warning: the model was trained on another site: {escape('; '.join(warnings))}; "
                      "retrain it on this site's telemetry (greendc explore, then greendc train)[/]", highlight=False)


def _load_faults(path: Path | None, site: Any) -> tuple[Any, ...]:
    """The faults of a ``--faults`` file, checked against the site's zones before any simulation starts."""
    if path is None:
        return ()
    from greendc.telemetry.faults import check_fault_zones, load_faults

    faults = load_faults(path)
    check_fault_zones(faults, [zone.name for zone in site.zones])
    return faults


def _print_faults(lines: list[str]) -> None:
    if lines:
        console.print("[yellow]The controller observed its sensors through faults[/] (the results are true):",
                      highlight=False)
        for line in lines:
            console.print(f"  [yellow]{escape(line)}[/]", highlight=False)


def _print_severe(summary: RunSummary) -> None:
    if summary.energyplus_severe_errors:
        console.print(f"[yellow]EnergyPlus reported {summary.energyplus_severe_errors} severe error(s):[/]")
        for message in summary.energyplus_severe_messages[:3]:
            console.print(f"  [yellow]{message[:300]}[/]", highlight=False)


OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace an earlier greendc result of the same "
                                                                    "kind in --out (never a folder with other files).")]
ModelOption = Annotated[Path | None, typer.Option("--model", help="Facility model (.gdm) for the ai controller.")]
ObjectiveOption = Annotated[str, typer.Option(help="What the ai minimises and bench's oracle is chosen by: "
                                                   "facility (IT + cooling) or cooling electricity.")]
AdvisoryOption = Annotated[bool, typer.Option("--advisory", help="ai only logs recommendations; baseline acts.")]
KillSwitchOption = Annotated[Path | None, typer.Option(help="While this file exists the ai hands control to the "
                                                            "baseline rule.")]
AcceptMismatchOption = Annotated[bool, typer.Option(
    "--accept-model-mismatch", help="Use an ai model although its zones' IT design power differs from the site's by "
                                    "more than 20 % (it then hands over wherever the load leaves its training).")]
FaultsOption = Annotated[Path | None, typer.Option("--faults", help="Sensor faults (YAML) the controllers observe "
                                                                    "through; the simulation and its results stay "
                                                                    "true (see greendc.telemetry.faults). The "
                                                                    "oracle runs without them.")]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


CONTROLLERS_HELP = ("Comma-separated controllers; 'oracle' adds the hindsight reference, best constant setpoints "
                    "per month from up to 28 annual runs per climate; 'oracle-hourly' the best per hour from up to "
                    "44 (two rows: within 18-27 C, and also within the humidity limits).")


@app.command()
def bench(
    json_path: Annotated[Path, typer.Option("--json", help="Write the records (one per controller and climate) here.")],
    site_file: Annotated[Path | None, typer.Option("--site", help="Site file (default: the demo site).")] = None,
    controllers: Annotated[str, typer.Option(help=CONTROLLERS_HELP)] = "default,rbc,trim-respond",
    climates: Annotated[str, typer.Option(help="Comma-separated shipped climates, or 'all'.")] = "all",
    weather: Annotated[Path | None, typer.Option(help="An extra EPW file to run as one more climate.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=8, help="Parallel EnergyPlus processes.")] = 2,
    model: ModelOption = None,
    objective: ObjectiveOption = "facility",
    faults_file: FaultsOption = None,
    accept_model_mismatch: AcceptMismatchOption = False,
) -> None:
    """Compare controllers across climates: one table, one JSON record per controller and climate."""
    from greendc.control.registry import CONTROLLERS
    from greendc.results.records import write_bench_records
    from greendc.site.loader import load_site
    from greendc.site.weather import SHIPPED_WEATHER, resolve_weather
    from greendc.workflows.bench import SWEPT_REFERENCES, run_bench
    from greendc.workflows.demo import demo_site_path
    from greendc.workflows.simulation import controller_options

    site, site_dir = load_site(site_file or demo_site_path())
    names = _split(controllers)
    unknown = [name for name in names if name not in CONTROLLERS and name not in SWEPT_REFERENCES]
    if unknown or not names:
        raise UsageError(f"--controllers: unknown {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join([*CONTROLLERS, *SWEPT_REFERENCES])}")
    climate_list = list(SHIPPED_WEATHER) if climates.strip().lower() == "all" else _split(climates)
    bad = [c for c in climate_list if c not in SHIPPED_WEATHER]
    if bad:
        raise UsageError(f"--climates: unknown {', '.join(bad)}; choose from {', '.join(SHIPPED_WEATHER)} or all")
    if weather is not None:
        climate_list.append(str(resolve_weather(str(weather))))
    options = controller_options([n for n in names if n not in SWEPT_REFERENCES], [z.name for z in site.zones], model,
                                 objective, accept_model_mismatch=accept_model_mismatch)
    if "ai" in names:
        _print_model_warnings(site, model, accept_model_mismatch)
    faults = _load_faults(faults_file, site)
    with _progress() as progress:
        task = progress.add_task("simulation runs", total=None)

        def advance(done: int, total: int) -> None:
            # The oracle's sweep makes many runs per row, so the bar counts runs, not rows.
            progress.update(task, description=f"{total} simulation runs", completed=done, total=total)

        records = run_bench(site, site_dir, names, climate_list, workers=workers, options=options,
                            objective=objective, on_progress=advance, faults=faults)
    write_bench_records(json_path, records)
    console.print(_summary_table([record.row() for record in records], f"{site.name}: controllers x climates"))
    _print_faults([fault.describe() for fault in faults])
    console.print(f"Wrote {len(records)} records to [bold]{json_path}[/]")
    failed = [record for record in records if record.error is not None]
    if failed:
        # The other records are kept, but a benchmark with a missing row must not pass as complete.
        for record in failed:
            console.print(f"[red]no {record.controller} in {record.climate}[/]: {escape(record.error)}")
        raise typer.Exit(1)


@app.command()
def explore(
    site_file: Annotated[Path, typer.Argument(help="Site description (YAML).")],
    out: Annotated[Path, typer.Option(help="Folder for the telemetry, one subfolder per climate.")],
    climates: Annotated[str, typer.Option(help="Comma-separated climates (shipped names or EPW paths).")] = "",
    seed: Annotated[int, typer.Option(help="Random seed of the exploration setpoints.")] = 0,
    workers: Annotated[int, typer.Option(min=1, max=8, help="Parallel EnergyPlus processes.")] = 2,
    overwrite: OverwriteOption = False,
) -> None:
    """Drive the twin with safe, varied setpoints to collect training telemetry for the facility model."""
    from greendc.site.loader import load_site
    from greendc.workflows.explore import explore as run_exploration

    site, site_dir = load_site(site_file)
    names = _split(climates) or [site.weather]
    with _progress() as progress:
        tasks = [progress.add_task(f"explore {name}", total=1.0) for name in names]
        exploration = run_exploration(site, site_dir, out, names, seed=seed, overwrite=overwrite, workers=workers,
                                      on_progress=lambda i, fraction: progress.update(tasks[i], completed=fraction))
    names, outcomes = exploration.climates, exploration.outcomes
    rows = [{**o.summary.model_dump(), "climate": name} for name, o in zip(names, outcomes, strict=True)]
    console.print(_summary_table(rows, f"{site.name}: exploration runs"))
    console.print(f"Telemetry in [bold]{out}[/]; train with: greendc train {out} --out model.gdm")


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="Telemetry: a Parquet/CSV file or a folder (see greendc explore).")],
    out: Annotated[Path, typer.Option(help="Where to write the model file (.gdm).")] = Path("model.gdm"),
    site_file: Annotated[Path | None, typer.Option(
        "--site", help="The site the telemetry comes from (YAML); default: the site.json greendc explore wrote "
                       "into DATA.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the fit.")] = 0,
) -> None:
    """Fit the facility model on telemetry and report its accuracy on held-out data (ASHRAE Guideline 14) and
    the coverage of its calibrated uncertainty."""
    from greendc.telemetry.schema import load_telemetry
    from greendc.workflows.train import train as fit_and_save
    from greendc.workflows.train import training_site

    telemetry = load_telemetry(data)
    site = training_site(data, site_file)
    console.print(f"{len(telemetry.frame)} rows, zones {', '.join(telemetry.zone_names)}, "
                  f"{telemetry.start} to {telemetry.end}, {telemetry.interval_h * 60:.0f}-minute interval; "
                  f"site {escape(site.name)}")
    with _progress() as progress:
        task = progress.add_task("fitting the facility model (LightGBM)", total=None)
        model = fit_and_save(telemetry, out, site, seed=seed,
                             on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    table = Table(title=f"Held-out accuracy ({model.holdout_rows_} rows, last 20 % of each episode)",
                  title_justify="left")
    for header in ("target", "CV(RMSE) %", "NMBE %", "MAE"):
        table.add_column(header, justify="left" if header == "target" else "right")
    for target in model.target_names_:
        figures = model.metrics_[target]
        unit = "K" if target.endswith("_c") else "W"
        table.add_row(target, f"{figures['cv_rmse_pct']:.1f}", f"{figures['nmbe_pct']:+.2f}",
                      f"{figures['mae']:.2f} {unit}")
    console.print(table)
    console.print("ASHRAE Guideline 14 limits (hourly calibration): CV(RMSE) <= 30 %, |NMBE| <= 10 %")
    _print_coverage(model)
    console.print(f"Model written to [bold]{out}[/]")


#: What the calibrated bands should cover of held-out outcomes (issue 16).
COVERAGE_TARGET = 0.97


def _print_coverage(model: Any) -> None:
    """How much of the test rows' outcomes the calibrated 2-sigma bands cover, and what the model learned from."""
    from greendc.telemetry.sensors import FACILITY

    metrics = model.metrics_

    def share(value: float) -> str:
        colour = "green" if value >= COVERAGE_TARGET else "yellow"
        return f"[{colour}]{100 * value:.1f} %[/]"

    inlet = metrics["inlet_within_2_std_fraction"]
    upper = metrics["inlet_below_mean_plus_2_std_fraction"]
    cooling = metrics["cooling_power_within_2_std_fraction"]
    console.print(f"Calibrated uncertainty (split-conformal: the held-out days in two random halves, each half's "
                  f"band measured on the other, so that each of the {inlet['n']} held-out rows is judged by a band "
                  "calibrated without it):")
    zones = ", ".join(f"{escape(zone)} {share(value)}" for zone, value in inlet["by_zone"].items())
    console.print(f"  inlet mean +- 2 std covers {share(inlet['value'])} of held-out outcomes (target >= "
                  f"{100 * COVERAGE_TARGET:.0f} %): {zones}; at or below mean + 2 std: {share(upper['value'])}")
    console.print(f"  cooling power mean +- 2 x {model.cooling_power_std_w() / 1000:.2f} kW covers "
                  f"{share(cooling['value'])} of held-out outcomes (target >= {100 * COVERAGE_TARGET:.0f} %)")
    envelope = model.envelope_
    ranges = envelope.feature_ranges
    dry_bulb, wet_bulb = FACILITY.outdoor_dry_bulb_c.column, FACILITY.outdoor_wet_bulb_c.column
    loads = ", ".join(f"{escape(zone)} {100 * span.min:.0f}-{100 * span.max:.0f} %"
                      for zone, span in envelope.zone_it_load_fraction.items())
    console.print(f"Learned from {escape(envelope.site_name)}, {envelope.training_period[0]} to "
                  f"{envelope.training_period[1]}: outdoor dry bulb {_span(ranges[f'state:{dry_bulb}'])} C, "
                  f"wet bulb {_span(ranges[f'state:{wet_bulb}'])} C; IT load of design: {loads}")


def _span(values: Any) -> str:
    return f"{values.min:.1f} to {values.max:.1f}"


@app.command()
def explain(
    run_dir: Annotated[Path, typer.Argument(help="Results folder of an ai run (greendc simulate --controller ai).")],
) -> None:
    """Why the ai did what it did: who was in charge and for how long, the inlets' excursions, predicted savings
    by month, what drives the model."""
    from greendc.results.explain import explain_run

    explanation = explain_run(run_dir)
    console.print(f"[bold]{escape(explanation['run'])}[/]: {explanation['decisions']} decisions "
                  f"({explanation['mode']}, objective {explanation['objective']}), median "
                  f"{explanation['decision_ms_median']:.1f} ms per decision")
    guards = Table(title="Who was in charge", title_justify="left")
    guards.add_column("guard")
    guards.add_column("decisions", justify="right")
    guards.add_column("hours", justify="right")
    for guard, count in explanation["guards"].items():
        guards.add_row("optimizer (no guard fired)" if guard == "none" else guard, str(count),
                       f"{explanation['guard_hours'][guard]:.2f}")
    console.print(guards)
    if explanation["humid_air_floor_decisions"]:
        console.print(f"{explanation['humid_air_floor_decisions']} optimizer decisions passed over cheaper safe "
                      "setpoints to keep humid inlet air within the relative-humidity limit")
    months = Table(title="By month", title_justify="left")
    for header in ("month", "decisions", "ai applied %", "predicted saving kWh", "mean supply air C",
                   "hottest inlet C"):
        months.add_column(header, justify="right")
    for row in explanation["monthly"]:
        months.add_row(str(row["month"]), str(row["decisions"]), f"{row['ai_applied_pct']:.0f}",
                       f"{row['predicted_saving_kwh']:.0f}", f"{row['mean_supply_air_setpoint_c']:.1f}",
                       f"{row['hottest_inlet_max_c']:.1f}")
    console.print(months)
    # The inlets' excursions come first: a predicted saving says nothing of a run that overheated its servers.
    for flag in explanation["flags"]:
        console.print(f"[bold red]Inlets out of range:[/] {escape(flag)}", highlight=False)
    console.print(f"Predicted saving against the baseline rule: {explanation['predicted_saving_kwh']:.0f} kWh, the "
                  "model's estimate, not a measurement (greendc bench measures the real one)")
    if "model_note" in explanation:
        console.print(f"[yellow]{escape(explanation['model_note'])}[/]", highlight=False)
    for target, features in explanation.get("features", {}).items():
        total = sum(features.values()) or 1.0
        console.print(f"What drives {target}: " + ", ".join(f"{name} {100 * gain / total:.0f} %"
                                                             for name, gain in list(features.items())[:5]))


@app.command("heat-wave")
def heat_wave(
    weather: Annotated[str, typer.Argument(help="Shipped climate name or EPW path to start from.")],
    out: Annotated[Path, typer.Option(help="Where to write the shifted EPW file.")],
    dry_bulb_k: Annotated[float, typer.Option(min=-10, max=10, help="Added to every dry-bulb temperature, K.")] = 3.0,
    dew_point_k: Annotated[float, typer.Option(min=-10, max=10, help="Added to every dew point, K.")] = 2.0,
) -> None:
    """Write a stress-test weather year: an EPW with warmer dry-bulb and dew-point temperatures."""
    from greendc.site.weather import resolve_weather, shifted_weather

    written = shifted_weather(resolve_weather(weather), out, dry_bulb_k=dry_bulb_k, dew_point_k=dew_point_k)
    console.print(f"Wrote {written}: {weather} with dry-bulb {dry_bulb_k:+.1f} K and dew point {dew_point_k:+.1f} K")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Directory for the demo's results and plot.")] = Path("greendc-demo"),
    overwrite: OverwriteOption = False,
    live: Annotated[bool, typer.Option("--live", help="Serve the example site as a virtual building over BACnet/IP "
                                                      "and Modbus TCP on loopback and drive it with the agent for two "
                                                      "simulated days, next to the in-process co-simulation.")] = False,
    days: Annotated[int, typer.Option(help="With --live: simulated days (1-31).", min=1, max=31)] = 2,
) -> None:
    """A year of the example data center under the legacy control, trim-respond and the ai; plot and ESG report."""
    if live:
        from greendc.cli.live_commands import live_demo

        live_demo(out if out != Path("greendc-demo") else Path("greendc-demo-live"), overwrite, days)
        return
    from greendc.site.loader import load_site
    from greendc.workflows.demo import DEMO_CONTROLLERS, DEMO_ORDER, demo_site_path, run_demo

    site, _ = load_site(demo_site_path())
    console.print(f"[bold]greendc demo[/]: {site.name}, {len(site.zones)} IT halls, "
                  f"{site.it_design_power_w / 1000:.0f} kW IT design load, weather {site.weather}; the ai "
                  "controller's model was trained on exploration runs in Dulles, Tampa and Golden only")
    with _progress() as progress:
        tasks = [progress.add_task(f"a year under {c}", total=1.0) for c in DEMO_CONTROLLERS]
        result = run_demo(out, overwrite=overwrite,
                          on_progress=lambda i, fraction: progress.update(tasks[i], completed=fraction),
                          on_report=lambda: console.print("Writing the ESG report (HTML and PDF)"))
    by_name, out = result.outcomes, result.out_dir
    rows = [{**by_name[c].summary.model_dump(), "climate": site.weather} for c in DEMO_ORDER]
    console.print(_summary_table(rows, "A year of the example data center"))
    base = by_name["default"].summary
    for name in ("trim-respond", "ai"):
        better = by_name[name].summary
        saved = base.facility_kwh - better.facility_kwh
        cooling_cut_pct = 100 * (1 - better.cooling_kwh / base.cooling_kwh)
        console.print(f"{name} vs default: facility electricity {abs(saved) / 1000:.1f} MWh "
                      f"({100 * abs(saved) / base.facility_kwh:.1f} %) {_lower_or_higher(saved)}, cooling "
                      f"{abs(cooling_cut_pct):.1f} % {_lower_or_higher(cooling_cut_pct)}, "
                      f"IT {(better.it_kwh - base.it_kwh) / 1000:+.1f} MWh (server fans)")
    console.print(f"Plot: [bold]{result.plot_path}[/]; results per controller in [bold]{out}[/]; why the ai did "
                  f"what it did: greendc explain {out / 'ai'}")
    console.print(f"ESG report: [bold]{result.report_dir / 'report.pdf'}[/] (and report.html, figures.json, tables/)")


