"""``greendc fleet``: explore, train and bench every site of a fleet file, on local processes or on Ray."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

# Wide enough for the fleet table when output goes to a file or CI log.
console = Console(width=None if sys.stdout.isatty() else 150)


def fleet_table(rows: list, title: str) -> Table:
    """The fleet table: every site x controller x climate, energy in MWh."""
    table = Table(title=title, title_justify="left")
    columns = [("site", "site", "{}"), ("climate", "climate", "{}"), ("controller", "controller", "{}"),
               ("facility MWh", "facility_mwh", "{:.1f}"), ("cooling MWh", "cooling_mwh", "{:.1f}"),
               ("PUE", "pue", "{:.3f}"), (">27 C", "steps_above_27c", "{}"), (">32 C", "steps_above_32c", "{}"),
               ("<18 C", "steps_below_18c", "{}"), ("humid", "steps_humid", "{}")]
    for header, _, _ in columns:
        table.add_column(header, justify="left" if header in ("site", "climate", "controller") else "right")
    for row in rows:
        data = row.model_dump()
        table.add_row(*["" if data[key] is None else fmt.format(data[key]) for _, key, fmt in columns])
    return table


def register(app: typer.Typer) -> None:
    @app.command()
    def fleet(
        fleet_file: Annotated[Path, typer.Argument(help="Fleet file (YAML): sites, climates, controllers.")],
        out: Annotated[Path, typer.Option(help="Folder for the fleet's results; rerun into it to resume.")],
        executor: Annotated[str, typer.Option(help="local (processes on this machine), ray (a local Ray) or "
                                                   "ray:ADDRESS (join a Ray cluster).")] = "local",
        workers: Annotated[int, typer.Option(min=1, max=512, help="Jobs at once (EnergyPlus processes).")] = 2,
    ) -> None:
        """Explore, train and benchmark every site of a fleet; a fleet table and one ESG report."""
        from greendc.workflows.fleet import load_fleet
        from greendc.workflows.fleet_run import run_fleet
        from greendc.workflows.ray_executor import RayExecutor, parse_executor

        fleet_spec = load_fleet(fleet_file)
        runner = parse_executor(executor, workers)
        if isinstance(runner, RayExecutor):
            runner.start()  # a cluster that does not answer is one line before any simulation
        try:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                          TimeElapsedColumn(), console=console) as progress:
                task = progress.add_task(f"fleet of {len(fleet_spec.members)} sites", total=None)

                def advance(done: float, total: int) -> None:
                    progress.update(task, description=f"fleet of {len(fleet_spec.members)} sites: {total} jobs",
                                    completed=done, total=total)

                result = run_fleet(fleet_spec, out, runner, on_progress=advance)
        finally:
            if isinstance(runner, RayExecutor):
                runner.stop()
        console.print(fleet_table(result.rows, f"{fleet_spec.spec.name}: sites x controllers x climates"))
        console.print(f"{result.jobs_run} jobs run, {result.jobs_reused} found finished in {escape(str(out))}")
        console.print(f"Fleet table: [bold]{result.out_dir / 'fleet.csv'}[/] (and fleet.json); ESG report: "
                      f"[bold]{result.report_dir}[/] (report.html, report.pdf, figures.json)")
        for line in result.failed:
            console.print(f"[red]{escape(line)}[/]")
        if result.failed:
            raise typer.Exit(1)
