"""Where the service keeps its database and its files, and the limits it enforces on what users send."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The largest upload (site file, inventory, telemetry batch, model) the service reads, bytes.
MAX_UPLOAD_BYTES = 16 * 1024 * 1024
#: A browser session lasts this long without a new login, s.
SESSION_LIFETIME_S = 12 * 3600.0
#: Failed logins for one user name (or from one client) within the window before further tries are refused.
LOGIN_FAILURES_ALLOWED = 5
LOGIN_WINDOW_S = 15 * 60.0


def default_data_dir() -> Path:
    """The user's data folder for greendc: ``$GREENDC_DATA_DIR``, else ``$XDG_DATA_HOME/greendc``, else
    ``~/.local/share/greendc`` (the XDG Base Directory default)."""
    if os.environ.get("GREENDC_DATA_DIR"):
        return Path(os.environ["GREENDC_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "greendc"


def sqlite_url(folder: Path) -> str:
    """The SQLAlchemy URL of the embedded database file in ``folder``."""
    return f"sqlite:///{(folder / 'greendc.db').resolve()}"


@dataclass(frozen=True)
class ServiceSettings:
    """How one service instance runs: its database, its file store and its limits."""

    #: SQLAlchemy URL: ``sqlite:///PATH`` (the default, in the data folder) or ``postgresql+psycopg://...``.
    database_url: str
    #: Where uploaded and produced files (models, run results, reports) are kept, one folder per organization.
    data_dir: Path
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    session_lifetime_s: float = SESSION_LIFETIME_S
    login_failures_allowed: int = LOGIN_FAILURES_ALLOWED
    login_window_s: float = LOGIN_WINDOW_S
    #: Background jobs (simulations, benches, training, reports) that run at once.
    job_workers: int = 1
    #: Requests in the routes at once (see ``greendc.service.app.RequestLimit``); under AnyIO's 40 threads.
    requests_in_flight: int = 16
    #: Cookies only over HTTPS; off for the loopback default, on behind a TLS proxy.
    secure_cookies: bool = False

    @classmethod
    def from_options(cls, database_url: str | None = None, data_dir: Path | None = None, **limits: object
                     ) -> ServiceSettings:
        """Settings from the command line's options: the embedded SQLite file when no URL is given."""
        folder = Path(data_dir) if data_dir is not None else default_data_dir()
        return cls(database_url=database_url or sqlite_url(folder), data_dir=folder, **limits)  # type: ignore[arg-type]
