"""The ESG report: HTML (Jinja2) and PDF (WeasyPrint), ``figures.json`` and CSV tables.

Everything is computed and rendered into a temporary folder beside ``out_dir`` and moved into place
only when complete, so bad input or a rendering failure never leaves a partial report behind.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from greendc.carbon.calculate import InventoryResult, calculate
from greendc.carbon.errors import InventoryError
from greendc.carbon.export import to_json
from greendc.carbon.factors import shipped_table
from greendc.carbon.inventory import (
    BenchSaving,
    Electricity,
    Inventory,
    LoadedInventory,
    Organization,
    Saving,
    Site,
    check_inventory,
    load_inventory,
)
from greendc.carbon.runs import read_run_summary
from greendc.errors import GreendcError
from greendc.report import charts
from greendc.report.tables import ReportTable, all_tables, fmt
from greendc.results.store import check_output_folder, write_json_atomic, write_result_folder


class ReportError(GreendcError, RuntimeError):
    """The report could not be rendered (not an input problem): one line for the user."""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("greendc")
    except Exception:
        return "dev"


def inventory_from_run(
    summary: str | Path,
    *,
    organization: str | None = None,
    reporting_year: int | None = None,
    bench: BenchSaving | None = None,
) -> LoadedInventory:
    """A one-site inventory for a greendc run (``summary.json`` or its folder), e.g. for ``greendc demo``.

    Without ``reporting_year`` the latest year with a grid-average factor for the run's grid region is
    used, and the report says that a simulated typical year is reported as that year. The installed IT
    power and the IT halls' floor area are the site file's, as the run's ``model.epJSON`` holds them (a run
    folder without its model, such as a hand-made summary, leaves them out).
    """
    path = Path(summary).resolve()
    run = read_run_summary(path)
    table = shipped_table()
    region = table.region(run.grid_region, file=run.path, field="grid_region")
    if reporting_year is None:
        years = table.years(region.code, "grid_average")
        if not years:
            raise InventoryError(run.path, "grid_region", f"no grid_average factor shipped for {region.code!r}")
        reporting_year = years[-1]
    savings = []
    if bench is not None:
        savings.append(
            Saving(
                name=f"{bench.improved_controller} control vs {bench.baseline_controller} ({bench.climate})",
                site=run.site,
                from_bench=bench.model_copy(update={"path": str(Path(bench.path).resolve())}),
                verification="greendc benchmark of the EnergyPlus twin (simulated, not metered)",
            )
        )
    notes = [
        f"Electricity, IT energy and water of {run.site} come from a greendc simulation of a typical "
        f"meteorological year ({run.weather or 'weather not recorded'}), reported as {reporting_year} "
        f"with that year's factors; they are modelled, not metered."
    ]
    design = run.design
    if design is not None:
        notes.append(
            f"Installed IT power ({design.installed_it_power_kw:,.1f} kW) and floor area "
            f"({design.it_floor_area_m2:,.1f} m2, the IT halls) are the design values of the simulated site."
        )
    site = Site(
        name=run.site,
        electricity=Electricity(from_run=str(run.path)),
        installed_it_power_kw=design.installed_it_power_kw if design is not None else None,
        floor_area_m2=design.it_floor_area_m2 if design is not None else None,
    )
    model = Inventory(
        organization=Organization(name=organization or run.site),
        reporting_year=reporting_year,
        sites=[site],
        verified_savings=savings,
        notes=notes,
    )
    check_inventory(model, file=run.path)
    return LoadedInventory(model=model, path=run.path, base_dir=run.path.parent)


def load_source(source: str | Path | Inventory | LoadedInventory) -> LoadedInventory:
    """An inventory YAML, a run's summary.json (or run folder), or an inventory already in memory."""
    if isinstance(source, LoadedInventory):
        return source
    if isinstance(source, Inventory):
        check_inventory(source)
        return LoadedInventory(model=source, path=None, base_dir=Path.cwd())
    path = Path(source)
    if path.is_dir() or path.suffix.lower() == ".json":
        return inventory_from_run(path)
    return load_inventory(path)


def _data_uri(png: bytes | None) -> str | None:
    if png is None:
        return None
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


_SIGNED_NUMBER = re.compile(r"^[+-]?[\d,]+(\.\d+)?( pp)?$")
KEEP_TOGETHER_ROWS = 18
"""Tables up to this many rows are kept on one page with their notes rather than split."""


def _table_html(table: ReportTable) -> str:
    """One table as HTML: ``group_by`` columns become heading rows, an empty table becomes a sentence."""
    from dataclasses import replace

    from markupsafe import escape

    if table.split_by_group and table.group_by and table.rows:
        index = table.columns.index(table.group_by[0])
        values = list(dict.fromkeys(row[index] for row in table.rows))
        return "".join(
            _table_html(
                replace(
                    table,
                    title=f"{table.title}: {value}",
                    columns=[c for i, c in enumerate(table.columns) if i != index],
                    rows=[[c for i, c in enumerate(row) if i != index] for row in table.rows if row[index] == value],
                    notes=table.notes if n == len(values) - 1 else [],
                    group_by=table.group_by[1:],
                    split_by_group=False,
                )
            )
            for n, value in enumerate(values)
        )

    caption = f'{escape(table.title)} <span class="std">— {escape(table.standard)}</span>'
    notes = "".join(f'<p class="table-note">{escape(n)}</p>' for n in table.notes)
    if not table.rows:
        empty = escape(table.empty_text)
        return f'<div class="table-block keep"><p class="empty"><b>{caption}</b><br>{empty}</p>{notes}</div>'
    grouped = [table.columns.index(c) for c in table.group_by]
    shown = [i for i in range(len(table.columns)) if i not in grouped]
    numeric = {
        i
        for i in shown
        if any(isinstance(row[i], int | float) and not isinstance(row[i], bool) for row in table.rows)
        or all(row[i] is None for row in table.rows)
        or all(isinstance(row[i], str) and _SIGNED_NUMBER.match(row[i]) for row in table.rows)
    }
    num_th = ' class="num"'
    head = "".join(f"<th{num_th if i in numeric else ''}>{escape(table.columns[i])}</th>" for i in shown)
    body = []
    current: list[object] = [object()] * len(grouped)
    for row in table.rows:
        for level, index in enumerate(grouped):
            if row[index] != current[level]:
                current[level] = row[index]
                current[level + 1 :] = [object()] * (len(grouped) - level - 1)
                if row[index] not in (None, ""):
                    body.append(
                        f'<tr class="group level{level}"><td colspan="{len(shown)}">{escape(str(row[index]))}</td></tr>'
                    )
        cells = []
        for i in shown:
            cell, column = row[i], table.columns[i]
            text = table.missing_text if cell is None else fmt(cell, column)
            classes = ["num"] if i in numeric else []
            if cell is None:
                classes.append("missing")
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{cls}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    keep = " keep" if len(table.rows) <= KEEP_TOGETHER_ROWS else ""
    return (
        f'<div class="table-block{keep}"><table class="data"><caption>{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{notes}</div>"
    )


def _cards(result: InventoryResult) -> list[dict[str, str]]:
    def num(key: str, digits: int | None = None) -> str:
        value = result.value(key)
        if value is None:
            return "n/a"
        if digits is None:
            digits = 0 if abs(value) >= 10_000 else 1
        return f"{value:,.{digits}f}"

    share = result.value("renewable_share")
    yoy = result.year_over_year.get("renewable_share")
    share_sub = f"{yoy[0].change * 100:+.1f} pp vs {result.inventory.previous_year.year}" if yoy else ""
    pue = result.value("pue")
    return [
        {"label": "Electricity consumed (MWh)", "value": num("electricity_mwh"), "sub": ""},
        {
            "label": "Renewable share of electricity",
            "value": "n/a" if share is None else f"{share * 100:.1f} %",
            "sub": share_sub,
        },
        {"label": "Scope 2 location-based (tCO2)", "value": num("location_based_tco2"), "sub": ""},
        {"label": "Scope 2 market-based (tCO2)", "value": num("market_based_tco2"), "sub": ""},
        {
            "label": "Avoided emissions, GRI 305-5 (tCO2)",
            "value": num("avoided_tco2", 1) if result.savings else "none",
            "sub": f"from {num('energy_saved_mwh', 1)} MWh saved" if result.savings else "no verified savings",
        },
        {"label": "PUE (ISO/IEC 30134-2)", "value": "n/a" if pue is None else f"{pue:.3f}", "sub": ""},
    ]


def render_html(result: InventoryResult) -> str:
    """The report as one self-contained HTML document (charts embedded as PNG data URIs)."""
    from jinja2 import Environment, select_autoescape

    templates = resources.files("greendc.report").joinpath("templates")
    env = Environment(autoescape=select_autoescape(["html", "j2"]))
    template = env.from_string(templates.joinpath("report.html.j2").read_text(encoding="utf-8"))
    css = templates.joinpath("report.css").read_text(encoding="utf-8")
    inv = result.inventory
    start, end = inv.period
    tables = {t.slug: _table_html(t) for t in all_tables(result)}
    site_charts = [
        {
            "name": s.name,
            "electricity": _data_uri(charts.monthly_electricity(s)),
            "pue": _data_uri(charts.monthly_pue(s)),
        }
        for s in result.sites
    ]
    onsite = [
        {
            "site": s.name,
            "name": o.name,
            "generated": f"{o.generated_mwh:,.1f}",
            "method": o.method,
            "exported": f"{o.exported_mwh:,.1f}" if o.exported_mwh else "",
        }
        for s in result.sites
        for o in s.onsite
    ]
    return template.render(
        org=inv.organization.name,
        year=inv.reporting_year,
        period_start=start.isoformat(),
        period_end=end.isoformat(),
        version=_version(),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        inventory_label=result.label,
        css=css,
        cards=_cards(result),
        tables=tables,
        site_charts=site_charts,
        charts={
            "emissions": _data_uri(charts.emissions_by_method(result)),
            "renewables": _data_uri(charts.renewable_share_yoy(result)),
            "savings": _data_uri(charts.savings(result)),
        },
        has_instruments=any(s.market.claims for s in result.sites),
        onsite=onsite,
        disclosures=result.disclosures,
        notes=list(inv.notes),
    )


def render_pdf(html: str, path: Path) -> None:
    """Print the HTML to PDF with WeasyPrint (needs the pango library of the operating system)."""
    try:
        import weasyprint
    except (ImportError, OSError) as error:
        raise ReportError(
            f"report.pdf needs WeasyPrint and its system library pango ({error}); "
            "install with `pip install weasyprint` and your OS's pango package"
        ) from None
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(str(path))


def build_report(inventory: str | Path | Inventory | LoadedInventory, out_dir: str | Path,
                 overwrite: bool = False) -> Path:
    """Compute the inventory and write ``report.html``, ``report.pdf``, ``figures.json`` and CSV tables.

    ``inventory`` is an inventory YAML path, a greendc run's ``summary.json`` (or run folder), a parsed
    ``Inventory`` (relative paths then resolve against the working directory) or a ``LoadedInventory``.
    Raises ``InventoryError`` for bad input (nothing is written) and ``ReportError`` if rendering fails.
    ``out_dir`` must be new, empty, or (with ``overwrite``) an earlier greendc report. Returns ``out_dir``.
    """
    check_output_folder(out_dir, "report", overwrite)  # before the work: a refused folder costs nothing
    loaded = load_source(inventory)
    result = calculate(loaded)

    def fill(folder: Path) -> None:
        write_json_atomic(folder / "figures.json", to_json(result))
        tables_dir = folder / "tables"
        tables_dir.mkdir()
        for table in all_tables(result):
            table.write_csv(tables_dir)
        html = render_html(result)
        (folder / "report.html").write_text(html, encoding="utf-8")
        render_pdf(html, folder / "report.pdf")

    return write_result_folder(out_dir, fill, "report", overwrite)
