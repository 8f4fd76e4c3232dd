"""The report's charts, drawn with Matplotlib's Agg backend into PNG bytes (no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from greendc.carbon.calculate import KIND_WORDS, InventoryResult, SavingResult, SiteResult
from greendc.carbon.verified import ENERGY_WORDS, decimals

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
PALETTE = ["#2f6f4f", "#6fa86f", "#b5d99c", "#e3b23c", "#d9763a", "#7f8fa6", "#4b6584", "#a55eea", "#c8d6e5"]
DPI = 150
KIND_COLOURS = {"verified": PALETTE[0], "entered": PALETTE[6], "simulated": PALETTE[3]}
"""A saving's bar is coloured by its kind, so that a simulated saving never looks like a metered one."""


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _style(ax, title: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def monthly_electricity(site: SiteResult) -> bytes | None:
    """Monthly electricity, stacked by end use when the site's data come from a greendc run."""
    if site.monthly_electricity_mwh is None:
        return None
    labels = [MONTHS[m - 1] for m in site.months]
    fig, ax = plt.subplots(figsize=(7.0, 2.5))
    if site.monthly_end_uses_mwh:
        bottom = [0.0] * len(labels)
        order = ["IT", *[k for k in site.monthly_end_uses_mwh if k != "IT"]]
        for colour, key in zip(PALETTE, order, strict=False):
            values = site.monthly_end_uses_mwh[key]
            ax.bar(labels, values, bottom=bottom, label=key, color=colour, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.legend(fontsize=7, ncol=min(len(order), 8), frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    else:
        ax.bar(labels, site.monthly_electricity_mwh, color=PALETTE[0], width=0.7, label="electricity")
    title = "monthly electricity by end use" if site.monthly_end_uses_mwh else "monthly electricity (total only)"
    _style(ax, f"{site.name}: {title}", "MWh")
    return _png(fig)


def monthly_pue(site: SiteResult) -> bytes | None:
    """PUE month by month (ISO/IEC 30134-2 applied to each month's energy)."""
    if not site.monthly_pue or all(p is None for p in site.monthly_pue):
        return None
    labels = [MONTHS[m - 1] for m in site.months]
    values = [p if p is not None else float("nan") for p in site.monthly_pue]
    fig, ax = plt.subplots(figsize=(7.0, 2.0))
    ax.plot(labels, values, marker="o", color=PALETTE[0], linewidth=1.5, markersize=4)
    annual = site.value("pue")
    if annual is not None:
        ax.axhline(annual, color=PALETTE[4], linestyle="--", linewidth=1, label=f"annual PUE {annual:.3f}")
        ax.legend(fontsize=7, frameon=False)
    finite = [v for v in values if v == v]
    if finite:
        ax.set_ylim(max(1.0, min(finite) - 0.05), max(finite) + 0.05)
    _style(ax, f"{site.name}: PUE over the year", "PUE")
    return _png(fig)


def emissions_by_method(result: InventoryResult) -> bytes:
    """Scope 2 location-based against market-based for each site (and last year, where entered)."""
    groups: list[tuple[str, float | None, float | None]] = [
        (s.name, s.value("location_based_tco2"), s.value("market_based_tco2")) for s in result.sites
    ]
    prev = result.inventory.previous_year
    has_prev = prev is not None and (prev.location_based_tco2 is not None or prev.market_based_tco2 is not None)
    year = result.inventory.reporting_year
    if len(result.sites) > 1 or has_prev:
        groups.append((f"Total {year}", result.value("location_based_tco2"), result.value("market_based_tco2")))
    if has_prev:
        assert prev is not None
        groups.insert(0, (f"Total {prev.year}", prev.location_based_tco2, prev.market_based_tco2))
    fig, ax = plt.subplots(figsize=(7.0, 2.8))
    xs = range(len(groups))
    width = 0.38
    loc = [g[1] or 0.0 for g in groups]
    mkt = [g[2] or 0.0 for g in groups]
    ax.bar([x - width / 2 for x in xs], loc, width, label="location-based", color=PALETTE[5])
    ax.bar([x + width / 2 for x in xs], mkt, width, label="market-based", color=PALETTE[0])
    for x, (a, b) in zip(xs, zip(loc, mkt, strict=True), strict=True):
        ax.annotate(f"{a:,.0f}", (x - width / 2, a), ha="center", va="bottom", fontsize=6)
        ax.annotate(f"{b:,.0f}", (x + width / 2, b), ha="center", va="bottom", fontsize=6)
    ax.set_xticks(list(xs), [_wrap(g[0], max(12, 56 // len(groups))) for g in groups])
    # Few groups would otherwise stretch into page-wide bars.
    pad = max(0.0, (4 - len(groups)) / 2)
    ax.set_xlim(-0.5 - pad, len(groups) - 0.5 + pad)
    ax.set_ylim(0, max([*loc, *mkt, 1.0]) * 1.18)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(fontsize=7, frameon=False, ncol=2, loc="upper right")
    _style(ax, "Scope 2 emissions by method", "tCO2")
    return _png(fig)


def renewable_share_yoy(result: InventoryResult) -> bytes | None:
    """Renewable share of electricity, last year against this year, in %; None when there is nothing to show
    (no renewable electricity this year and no previous year to compare with)."""
    year = result.inventory.reporting_year
    bars: list[tuple[str, float]] = []
    yoy = result.year_over_year.get("renewable_share")
    if yoy is None and not result.value("renewable_share"):
        return None
    if yoy is not None:
        prev = result.inventory.previous_year
        assert prev is not None
        bars.append((str(prev.year), yoy[0].previous * 100))
    bars.append((str(year), (result.value("renewable_share") or 0.0) * 100))
    fig, ax = plt.subplots(figsize=(4.2, 2.6))
    ax.bar([b[0] for b in bars], [b[1] for b in bars], color=[PALETTE[2], PALETTE[0]][-len(bars) :], width=0.5)
    for label, value in bars:
        ax.annotate(f"{value:.1f} %", (label, value), ha="center", va="bottom", fontsize=8)
    if yoy is not None:
        y = yoy[0]
        pct = f", {y.change_percent:+.1f} %" if y.change_percent is not None else ""
        ax.set_xlabel(f"change {y.change * 100:+.1f} pp{pct}", fontsize=8)
    ax.set_ylim(0, max(b[1] for b in bars) * 1.25 + 0.5)
    _style(ax, "Renewable share of electricity", "%")
    return _png(fig)


def savings(result: InventoryResult) -> bytes | None:
    """Savings (MWh) and the emissions they avoided (tCO2), per initiative, each bar coloured and labelled by its
    kind (verified, entered, simulated); a verified saving shows its interval as an error bar."""
    if not result.savings:
        return None
    names = [_wrap(x.name, 28, lines=3) for x in result.savings]
    colours = [KIND_COLOURS[x.kind] for x in result.savings]
    ys = list(range(len(names)))  # positions, not names: two savings may wrap to the same label
    height_in = 0.9 + 0.55 * len(names)
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.0, height_in), sharey=True)
    for ax, figures, unit in (
        (left, [x.saved for x in result.savings], "MWh saved"),
        (right, [x.avoided for x in result.savings], "tCO2 avoided"),
    ):
        values = [f.value or 0.0 for f in figures]
        errors = [
            [(v - f.interval.lower) if f.interval else 0.0 for v, f in zip(values, figures, strict=True)],
            [(f.interval.upper - v) if f.interval else 0.0 for v, f in zip(values, figures, strict=True)],
        ]
        ax.barh(ys, values, color=colours)
        with_interval = [i for i, f in enumerate(figures) if f.interval is not None]
        if with_interval:
            ax.errorbar([values[i] for i in with_interval], with_interval, fmt="none", ecolor="black",
                        elinewidth=0.8, capsize=3,
                        xerr=[[errors[0][i] for i in with_interval], [errors[1][i] for i in with_interval]])
        for i, (value, f, x) in enumerate(zip(values, figures, result.savings, strict=True)):
            d = decimals(f.interval.half_width) if f.interval else 1
            spread = f" ± {f.interval.half_width:,.{d}f}" if f.interval else ""
            ax.annotate(f"  {value:,.{d}f}{spread} ({x.kind})", (value + errors[1][i], i), va="center", fontsize=7)
        ax.set_xlabel(unit, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_xlim(0, max(v + e for v, e in zip(values, errors[1], strict=True)) * 1.6)
    left.set_yticks(ys, names)
    left.invert_yaxis()  # the first saving on top, as in the tables
    right.tick_params(axis="y", left=False)
    kinds = [k for k in KIND_WORDS if any(x.kind == k for x in result.savings)]
    handles = [plt.Rectangle((0, 0), 1, 1, color=KIND_COLOURS[k]) for k in kinds]
    fig.legend(handles, [KIND_WORDS[k] for k in kinds], fontsize=7, frameon=False, ncol=len(kinds),
               loc="upper center", bbox_to_anchor=(0.5, -0.32 / height_in))  # below the axis labels
    fig.suptitle("Energy savings and avoided emissions (GRI 302-4, 305-5)", fontsize=10, x=0.02, ha="left")
    return _png(fig)


def verified_monthly(saving: SavingResult) -> bytes | None:
    """A verified saving month by month: the adjusted baseline (what the site would have used without the
    measure) with its uncertainty band, against the measured energy, in MWh (a record has at least one month).
    None for a saving that is not verified."""
    record = saving.record
    if record is None:
        return None
    months = record.monthly
    years = {m.month[:4] for m in months}
    labels = [MONTHS[int(m.month[5:7]) - 1] + (f"\n{m.month[:4]}" if len(years) > 1 else "") for m in months]
    measured = [m.measured_kwh / 1000.0 for m in months]
    baseline = [m.adjusted_baseline_kwh / 1000.0 for m in months]
    # Only the baseline is uncertain (the meter is not), so its band is the measured energy plus the bounds of
    # the avoided energy.
    lower = [m.measured_kwh / 1000.0 + m.avoided_kwh_lower / 1000.0 for m in months]
    upper = [m.measured_kwh / 1000.0 + m.avoided_kwh_upper / 1000.0 for m in months]
    xs = list(range(len(months)))
    fig, ax = plt.subplots(figsize=(7.0, 2.6))
    ax.fill_between(xs, lower, upper, color=PALETTE[0], alpha=0.3, linewidth=0,
                    label=f"adjusted baseline, {record.confidence:g} % interval")
    ax.plot(xs, baseline, color=PALETTE[0], marker="o", markersize=3.5, linewidth=1.4, label="adjusted baseline")
    ax.plot(xs, measured, color=PALETTE[4], marker="s", markersize=3.5, linewidth=1.4, label="measured")
    ax.set_xticks(xs, labels)
    # Lines, not bars, so the axis can zoom onto the data: from zero, a band of a few percent would not show.
    low, high = min([*lower, *measured]), max([*upper, *measured])
    pad = max((high - low) * 0.15, abs(high) * 0.01, 1e-6)
    ax.set_ylim(low - pad, high + pad)
    digits = 0 if high - low >= 10 else 1
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.{digits}f}"))
    below = -0.12 - (0.08 if len(years) > 1 else 0.0)  # two-line month labels need more room
    ax.legend(fontsize=7, frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, below))
    _style(ax, _wrap(f"{saving.name}: adjusted baseline against measured {ENERGY_WORDS[record.energy]}, by month",
                     90), "MWh")
    return _png(fig)


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _wrap(text: str, width: int, lines: int = 2) -> str:
    """A label on at most ``lines`` lines of ``width`` characters, shortened with an ellipsis beyond that."""
    import textwrap

    wrapped = textwrap.wrap(text, width) or [""]
    if len(wrapped) > lines:
        wrapped = [*wrapped[: lines - 1], _short(" ".join(wrapped[lines - 1 :]), width)]
    return "\n".join(wrapped)
