"""``greendc carbon`` and ``greendc report``: the carbon, renewables and ESG-report commands.

``main.py`` calls ``register(app)``; bad input prints one line naming the file and field and exits 2. Both
take ``--verification FILE`` (repeatable): a ``greendc verify --json`` record added as a verified saving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

_out = Console()
_err = Console(stderr=True)

VerificationOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--verification",
        help="A greendc verify --json record: adds its metered, verified saving (with its uncertainty) as the "
        "source of avoided energy. Repeat for several.",
    ),
]
SiteOption = Annotated[
    str | None,
    typer.Option("--site", help="The inventory's site the --verification records measured (needed with several)."),
]


def _fail(message: str) -> typer.Exit:
    # Rich markup is off so that brackets in field paths such as sites[0] are printed as written.
    _err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "fraction":
        return f"{value * 100:.1f} %"
    if unit in ("ratio", "kgCO2/kWh", "L/kWh"):
        return f"{value:.3f}"
    return f"{value:,.1f}"


def _headline_table(result) -> Table:
    from greendc.carbon.export import HEADLINE_KEYS

    headlines = {  # figure: (what the table calls it, its unit)
        "electricity_mwh": ("Electricity consumed", "MWh"),
        "renewable_mwh": ("Renewable electricity", "MWh"),
        "renewable_share": ("Renewable share", "fraction"),
        "location_based_tco2": ("Scope 2, location-based", "tCO2"),
        "market_based_tco2": ("Scope 2, market-based", "tCO2"),
        "avoided_tco2": ("Avoided emissions (GRI 305-5)", "tCO2"),
        "pue": ("PUE", "ratio"),
        "ref": ("REF", "fraction"),
        "cue": ("CUE", "kgCO2/kWh"),
        "wue": ("WUE", "L/kWh"),
    }
    inv = result.inventory
    table = Table(title=f"{inv.organization.name} - reporting year {inv.reporting_year}")
    table.add_column("figure")
    table.add_column("unit")
    for site in result.sites:
        table.add_column(site.name, justify="right")
    if len(result.sites) > 1:
        table.add_column("organization", justify="right")
    for key in HEADLINE_KEYS:
        label, unit = headlines[key]
        row = [label, "%" if unit == "fraction" else ("" if unit == "ratio" else unit)]
        row += [_fmt(s.value(key), unit) for s in result.sites]
        if len(result.sites) > 1:
            row.append(_fmt(result.value(key), unit))
        table.add_row(*row)
        if key == "avoided_tco2":
            for row in _avoided_by_kind(result):
                table.add_row(*row)
    return table


def _with_interval(figure) -> str:
    from greendc.carbon.verified import decimals

    if figure.interval is None or not figure.value:
        return _fmt(figure.value, figure.unit)
    d = decimals(figure.interval.half_width)
    return f"{figure.value:,.{d}f} ± {figure.interval.half_width:,.{d}f} ({figure.interval.confidence_pct:g} %)"


def _avoided_by_kind(result) -> list[list[str]]:
    """The avoided emissions of each kind of saving in the inventory, the verified ones with their interval."""
    from greendc.carbon.inventory import SAVING_KINDS

    rows = []
    for kind in SAVING_KINDS:
        if any(x.kind == kind for x in result.savings):
            key = f"avoided_tco2_{kind}"
            row = [f"  from {kind} savings", "tCO2"]
            row += [_with_interval(s.figures[key]) for s in result.sites]
            if len(result.sites) > 1:
                row.append(_with_interval(result.figures[key]))
            rows.append(row)
    return rows


def carbon(
    inventory: Annotated[
        Path, typer.Argument(help="Inventory YAML (see examples/inventories/) or a run's summary.json")
    ],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write every figure with its inputs, factor and source here")
    ] = None,
    verification: VerificationOption = None,
    site: SiteOption = None,
) -> None:
    """Scope 2 (location- and market-based), renewables, avoided emissions and KPIs of an inventory."""
    from greendc.carbon.calculate import calculate
    from greendc.carbon.export import to_json
    from greendc.results.store import write_json_atomic
    from greendc.workflows.run_inventory import load_source

    result = calculate(load_source(inventory, verification or [], site))
    _out.print(_headline_table(result))
    for note in result.disclosures:
        _out.print(f"note: {note}", markup=False, highlight=False)
    if json_path is not None:
        try:
            write_json_atomic(json_path, to_json(result))
        except OSError as error:
            raise _fail(f"{json_path}: <file>: cannot write ({error.strerror})") from None
        _out.print(f"wrote {json_path}", markup=False, highlight=False)


def report(
    inventory: Annotated[Path, typer.Argument(help="Inventory YAML, or a greendc run's summary.json")],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html, report.pdf, figures.json, CSVs")] = Path(
        "report"
    ),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier greendc report in --out (never "
                                                                "a folder with other files).")] = False,
    verification: VerificationOption = None,
    site: SiteOption = None,
) -> None:
    """Write the ESG report (HTML and PDF), figures.json and the GRI / KPI tables as CSV."""
    from greendc.report import build_report
    from greendc.results.store import check_output_folder
    from greendc.workflows.run_inventory import load_source

    check_output_folder(out, "report", overwrite)  # before reading a year of telemetry
    folder = build_report(load_source(inventory, verification or [], site), out, overwrite=overwrite)
    _out.print(
        f"wrote {folder / 'report.html'}, {folder / 'report.pdf'}, figures.json and CSV tables",
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``carbon`` and ``report`` to the main ``greendc`` app."""
    app.command("carbon")(carbon)
    app.command("report")(report)
