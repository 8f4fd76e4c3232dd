"""The Alembic migrations of the service's schema; :mod:`greendc.service.schema_version` runs them."""
