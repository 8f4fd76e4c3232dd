"""The fleet file: many sites, the climates and controllers to run them in, and what the carbon report needs.

One YAML document (see ``examples/fleet.yaml``) read into :class:`FleetFile` and checked entry by entry into a
:class:`Fleet` before any simulation starts: a missing or duplicate site, an unknown controller or climate is
one line naming the file and the entry (:class:`FleetFileError`, exit code 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from greendc.carbon.inventory import Instrument
from greendc.errors import GreendcError
from greendc.files import InputFileError, load_yaml_mapping, shown_path
from greendc.site.loader import SiteFileError, describe_validation_error, load_site
from greendc.site.schema import Site
from greendc.site.weather import SHIPPED_WEATHER, WeatherError, resolve_weather

Name = Annotated[str, Field(min_length=1, max_length=200)]


class FleetFileError(GreendcError, ValueError):
    """A fleet file that cannot be run; the message names the file and the entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExploreSpec(_Strict):
    """Explore the site (safe, varied setpoints) in these climates, then train the ai's model on the telemetry."""

    climates: list[Name] = Field(default_factory=list, description="default: the site's own weather")
    seed: int = 0


class SiteInventory(_Strict):
    """What the carbon report needs of a site beyond its simulated year."""

    grid_region: Name | None = Field(default=None, description="default: the site file's grid_region")
    country: Name | None = None
    instruments: list[Instrument] = []


class FleetSite(_Strict):
    """One site of the fleet."""

    path: Name = Field(description="the site file (YAML), relative to the fleet file")
    explore: ExploreSpec | None = None
    model: Name | None = Field(default=None, description="a facility model (.gdm) for the ai instead of training")
    inventory: SiteInventory | Name | None = Field(
        default=None, description="grid region and instruments, or a path to a carbon inventory naming the site")


class ReportSpec(_Strict):
    """Which simulated year of each site the fleet's ESG report is made of."""

    controller: Name | None = Field(default=None, description="default: the first controller that is not a sweep")
    climate: Name | None = Field(default=None, description="default: the first climate (or the site's own)")


class FleetFile(_Strict):
    """A fleet file as written."""

    name: Name = "fleet"
    organization: Name | None = None
    reporting_year: Annotated[int, Field(ge=1990, le=2100)] | None = None
    controllers: Annotated[list[Name], Field(min_length=1)]
    climates: list[Name] = Field(default_factory=list, description="default: each site's own weather")
    objective: Literal["facility", "cooling"] = "facility"
    report: ReportSpec = ReportSpec()
    sites: Annotated[list[FleetSite], Field(min_length=1)]


@dataclass(frozen=True)
class FleetMember:
    """A checked site of the fleet: its file, its parsed site and what to do with it."""

    entry: str  # how the fleet file names it: ``sites[0]``
    path: Path
    site: Site
    site_dir: Path
    explore_climates: tuple[str, ...] | None  # None: no exploration (a model file, or no ai)
    explore_seed: int
    model: Path | None
    inventory: SiteInventory


@dataclass(frozen=True)
class Fleet:
    """A checked fleet file (:func:`load_fleet`): every path resolved, every name known."""

    path: Path
    spec: FleetFile
    members: tuple[FleetMember, ...]
    climates: tuple[str, ...]  # shipped names or resolved EPW paths; empty: each site's own
    report_controller: str
    report_climate: str | None  # as the bench names it; None: the first climate run


def _fail(path: Path, entry: str, message: str) -> FleetFileError:
    return FleetFileError(f"{shown_path(path)}: {entry}: {message}")


def _check_climate(path: Path, entry: str, name: str, relative_to: Path) -> str:
    """A shipped climate's name, or the resolved path of an EPW file; anything else names the entry."""
    if name.strip().lower() in SHIPPED_WEATHER:
        return name.strip().lower()
    if not name.lower().endswith(".epw"):
        raise _fail(path, entry, f"unknown climate {name!r}; choose from {', '.join(SHIPPED_WEATHER)} or give "
                                 "a path to an .epw file")
    try:
        return str(resolve_weather(name, relative_to=relative_to))
    except WeatherError as error:
        raise _fail(path, entry, error.message) from None


def _check_controllers(path: Path, spec: FleetFile) -> None:
    from greendc.control.registry import CONTROLLERS
    from greendc.workflows.bench import SWEPT_REFERENCES

    known = [*CONTROLLERS, *SWEPT_REFERENCES]
    for i, name in enumerate(spec.controllers):
        if name not in known:
            raise _fail(path, f"controllers[{i}]", f"unknown controller {name!r}; choose from {', '.join(known)}")
        if name in spec.controllers[:i]:
            raise _fail(path, f"controllers[{i}]", f"{name!r} is listed twice")
    if spec.report.controller is not None and spec.report.controller not in spec.controllers:
        raise _fail(path, "report.controller", f"{spec.report.controller!r} is not among the fleet's controllers")
    if spec.report.controller in SWEPT_REFERENCES:
        raise _fail(path, "report.controller", f"{spec.report.controller!r} is a hindsight reference, not a year a "
                                               "site could have run; choose a controller")


def _site_inventory(path: Path, entry: str, given: SiteInventory | str | None, site: Site) -> SiteInventory:
    """The inventory details of a site: as given, from an inventory file's site of the same name, or none."""
    if given is None:
        return SiteInventory()
    if isinstance(given, SiteInventory):
        return given
    from greendc.carbon.errors import InventoryError
    from greendc.report.render import load_inventory_source

    inventory_path = (path.parent / given).resolve()
    try:
        loaded = load_inventory_source(inventory_path)
    except (InventoryError, InputFileError) as error:
        raise _fail(path, f"{entry}.inventory", str(error)) from None
    sites = loaded.model.sites
    match = [s for s in sites if s.name.strip().lower() == site.name.strip().lower()]
    if not match and len(sites) != 1:
        raise _fail(path, f"{entry}.inventory", f"{shown_path(inventory_path)} names no site {site.name!r}")
    chosen = (match or sites)[0]
    return SiteInventory(grid_region=chosen.grid_region, country=chosen.country, instruments=chosen.instruments)


def _member(path: Path, index: int, given: FleetSite, needs_model: bool) -> FleetMember:
    entry = f"sites[{index}]"
    site_path = (path.parent / given.path).resolve()
    if not site_path.is_file():
        raise _fail(path, f"{entry}.path", f"site file not found: {shown_path(site_path)}")
    try:
        site, site_dir = load_site(site_path)
    except SiteFileError as error:
        raise _fail(path, f"{entry}.path", str(error)) from None
    model = None
    if given.model is not None:
        model = (path.parent / given.model).resolve()
        if not model.is_file():
            raise _fail(path, f"{entry}.model", f"model file not found: {shown_path(model)}")
    explore = None
    if given.explore is not None and model is None:
        names = given.explore.climates or [site.weather]
        explore = tuple(_check_climate(path, f"{entry}.explore.climates[{i}]", name, site_dir if name == site.weather
                                       else path.parent) for i, name in enumerate(names))
    if needs_model and model is None and explore is None:
        raise _fail(path, entry, "the ai controller needs a facility model: give model: (a .gdm file) or explore: "
                                 "(explore and train one)")
    inventory = _site_inventory(path, entry, given.inventory, site)
    if inventory.grid_region is not None and site.grid_region is not None \
            and inventory.grid_region.strip().lower() != site.grid_region.strip().lower():
        raise _fail(path, f"{entry}.inventory.grid_region", f"{inventory.grid_region!r} differs from the site file's "
                                                            f"grid_region {site.grid_region!r}")
    seed = given.explore.seed if given.explore is not None else 0
    return FleetMember(entry, site_path, site, site_dir, explore, seed, model, inventory)


def _report_controller(spec: FleetFile) -> str:
    from greendc.workflows.bench import SWEPT_REFERENCES

    if spec.report.controller is not None:
        return spec.report.controller
    return next((name for name in spec.controllers if name not in SWEPT_REFERENCES), spec.controllers[0])


def load_fleet(path: Path | str) -> Fleet:
    """Read and check a fleet file; every problem is one :class:`FleetFileError` naming the file and the entry."""
    path = Path(path).resolve()
    try:
        raw = load_yaml_mapping(path, what="fleet file")
    except InputFileError as error:
        raise FleetFileError(str(error)) from None
    try:
        spec = FleetFile.model_validate(raw)
    except ValidationError as error:
        raise FleetFileError(describe_validation_error(path, error, FleetFile)) from None
    _check_controllers(path, spec)
    climates = tuple(_check_climate(path, f"climates[{i}]", name, path.parent) for i, name in enumerate(spec.climates))
    if len(set(climates)) != len(climates):
        twice = next(i for i, c in enumerate(climates) if c in climates[:i])
        raise _fail(path, f"climates[{twice}]", f"{spec.climates[twice]!r} is listed twice")
    members: list[FleetMember] = []
    for index, given in enumerate(spec.sites):
        member = _member(path, index, given, "ai" in spec.controllers)
        for other in members:
            if other.path == member.path:
                raise _fail(path, f"sites[{index}].path", f"the same site file as {other.entry}")
            if other.site.name.strip().lower() == member.site.name.strip().lower():
                raise _fail(path, f"sites[{index}].path", f"a second site named {member.site.name!r} (as "
                                                          f"{other.entry}); site names must differ")
        members.append(member)
    return Fleet(path, spec, tuple(members), climates, _report_controller(spec), _report_climate(path, spec, climates))


def _report_climate(path: Path, spec: FleetFile, climates: tuple[str, ...]) -> str | None:
    """The climate (as a bench names it) of the years the report is made of; None: the first one run."""
    from greendc.workflows.bench import climate_name

    if spec.report.climate is None:
        return None
    if not climates:
        raise _fail(path, "report.climate", "the fleet runs each site in its own weather (no climates:); leave "
                                            "report.climate out")
    checked = _check_climate(path, "report.climate", spec.report.climate, path.parent)
    if checked not in climates:
        raise _fail(path, "report.climate", f"{spec.report.climate!r} is not among the fleet's climates")
    return climate_name(checked)
