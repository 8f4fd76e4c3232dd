"""Run to inventory: a greendc run's ``summary.json`` as a one-site carbon inventory; and verification
records added to an inventory as verified savings.

``greendc carbon`` and ``greendc report`` accept a run's summary (or its folder) wherever they accept an
inventory YAML, and ``--verification FILE`` adds a verified saving to either; the demo reports its ai year
this way, with its simulated saving.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from greendc.carbon.errors import InventoryError
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
)
from greendc.carbon.runs import read_run_summary
from greendc.carbon.verified import option_words, read_claimable_verification, saving_name
from greendc.errors import UsageError
from greendc.report.render import load_inventory_source


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
                name=(
                    f"simulated saving: {bench.improved_controller} vs {bench.baseline_controller} "
                    f"(EnergyPlus twin, {bench.climate})"
                ),
                site=run.site,
                from_bench=bench.model_copy(update={"path": str(Path(bench.path).resolve())}),
                verification=(
                    "not metered: a greendc benchmark of the EnergyPlus twin, the same weather and IT load for "
                    "both controllers"
                ),
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
        savings=savings,
        notes=notes,
    )
    check_inventory(model, file=run.path)
    return LoadedInventory(model=model, path=run.path, base_dir=run.path.parent)


def load_source(
    source: str | Path | Inventory | LoadedInventory,
    verifications: Sequence[str | Path] = (),
    site: str | None = None,
) -> LoadedInventory:
    """An inventory YAML, a run's summary.json (or run folder), or an inventory already in memory, with a
    verified saving added for each verification record (see :func:`with_verifications`)."""
    if isinstance(source, str | Path) and (Path(source).is_dir() or Path(source).suffix.lower() == ".json"):
        loaded = inventory_from_run(source)
    else:
        loaded = load_inventory_source(source)
    return with_verifications(loaded, verifications, site) if verifications else loaded


def _site_of_savings(model: Inventory, site: str | None) -> str:
    """The site the added savings are of: ``site`` (``--site``), or the inventory's only one."""
    names = [s.name for s in model.sites]
    if site is not None:
        match = next((n for n in names if n.strip().lower() == site.strip().lower()), None)
        if match is None:
            raise UsageError(f"--site: no site named {site!r} in the inventory (its sites: {', '.join(names)})")
        return match
    if len(names) > 1:
        raise UsageError(
            f"--site: the inventory has {len(names)} sites ({', '.join(names)}); name the one the verification "
            "record measured"
        )
    return names[0]


def with_verifications(
    loaded: LoadedInventory, verifications: Sequence[str | Path], site: str | None = None
) -> LoadedInventory:
    """The inventory with one verified saving per verification record (``greendc verify --json``), at ``site``
    (the inventory's only site if None), named from the record: ``ai control vs trim-respond (metered, IPMVP
    Option C)``. A record that is no claimable saving is refused here, in one line naming it."""
    model = loaded.model
    where = _site_of_savings(model, site)
    savings = list(model.savings)
    taken = {s.name.strip().lower() for s in savings}
    for given in verifications:
        path = Path(given).expanduser().resolve()
        record = read_claimable_verification(path)
        name = saving_name(record)
        if name.strip().lower() in taken:
            name = f"{name}, {path.name}"[:120]
        taken.add(name.strip().lower())
        savings.append(
            Saving(
                name=name,
                site=where,
                from_verification=str(path),
                verification=f"measured and verified with greendc verify ({option_words(record)})",
            )
        )
    updated = model.model_copy(update={"savings": savings})
    check_inventory(updated, file=loaded.path)
    return LoadedInventory(model=updated, path=loaded.path, base_dir=loaded.base_dir)
