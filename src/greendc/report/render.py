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

from greendc.carbon.calculate import KIND_WORDS, InventoryResult, calculate
from greendc.carbon.export import to_json
from greendc.carbon.inventory import (
    Inventory,
    LoadedInventory,
    check_inventory,
    load_inventory,
)
from greendc.carbon.verified import decimals
from greendc.errors import GreendcError
from greendc.report import charts
from greendc.report.methodology import kinds_in_words, verified_saving_method
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


def load_inventory_source(source: str | Path | Inventory | LoadedInventory) -> LoadedInventory:
    """An inventory YAML file, or an inventory already in memory (a run's summary is turned into one by
    ``greendc.workflows.run_inventory``, above the report)."""
    if isinstance(source, LoadedInventory):
        return source
    if isinstance(source, Inventory):
        check_inventory(source)
        return LoadedInventory(model=source, path=None, base_dir=Path.cwd())
    return load_inventory(Path(source))


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
    shown = [i for i in range(len(table.columns)) if i not in grouped and table.columns[i] not in table.csv_only]
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
        _savings_card(result),
        {"label": "PUE (ISO/IEC 30134-2)", "value": "n/a" if pue is None else f"{pue:.3f}", "sub": ""},
    ]


def _savings_card(result: InventoryResult) -> dict[str, str]:
    """The avoided emissions of the strongest kind of saving in the inventory (verified, then entered, then
    simulated), with its interval, saying its kind and what else is totalled apart."""
    if not result.savings:
        return {"label": "Avoided emissions, GRI 305-5 (tCO2)", "value": "none", "sub": "no savings in the inventory"}
    kinds = [k for k in KIND_WORDS if any(x.kind == k for x in result.savings)]
    kind = kinds[0]
    avoided, saved = result.figures[f"avoided_tco2_{kind}"], result.figures[f"energy_saved_mwh_{kind}"]
    value = f"{avoided.value or 0.0:,.1f}"
    sub = f"{KIND_WORDS[kind]}: from {saved.value or 0.0:,.1f} MWh saved"
    if avoided.interval is not None:
        d = decimals(avoided.interval.half_width)
        value = f"{avoided.value or 0.0:,.{d}f} ± {avoided.interval.half_width:,.{d}f}"
        sub += f", at {avoided.interval.confidence_pct:g} % confidence"
    if kind == "simulated":
        sub = f"on the EnergyPlus twin, not metered: from {saved.value or 0.0:,.1f} MWh saved"
    others = [f"{result.value(f'avoided_tco2_{k}') or 0.0:,.1f} t {KIND_WORDS[k]}" for k in kinds[1:]]
    if others:
        sub += f"; also {' and '.join(others)}, totalled apart"
    # A simulated year is no reduction anyone measured: it is not shown as a GRI 305-5 figure.
    label = "Simulated avoided emissions (tCO2)" if kind == "simulated" else "Avoided emissions, GRI 305-5 (tCO2)"
    return {"label": label, "value": value, "sub": sub}


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
    verified = [
        {
            "name": x.name,
            "chart": _data_uri(charts.verified_monthly(x)),
            "method": verified_saving_method(x),
        }
        for x in result.savings
        if x.record is not None
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
        saving_kinds=kinds_in_words(result),
        verified=verified,
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

    ``inventory`` is an inventory YAML path, a parsed ``Inventory`` (relative paths then resolve against the
    working directory) or a ``LoadedInventory`` (such as ``greendc.workflows.run_inventory`` makes of a run).
    Raises ``InventoryError`` for bad input (nothing is written) and ``ReportError`` if rendering fails.
    ``out_dir`` must be new, empty, or (with ``overwrite``) an earlier greendc report. Returns ``out_dir``.
    """
    check_output_folder(out_dir, "report", overwrite)  # before the work: a refused folder costs nothing
    loaded = load_inventory_source(inventory)
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
