"""greendc as a web service: the workflows behind an HTTP API and a dashboard, for several users with roles.

Like the command line, the service sits on top of every other part and nothing below imports it. Its parts:

- :mod:`~greendc.service.settings`: where the database and the stored files live;
- :mod:`~greendc.service.database`: the SQLAlchemy tables (one schema on SQLite and PostgreSQL) and the engine;
- :mod:`~greendc.service.migrations`: the Alembic migrations that create and upgrade that schema;
- :mod:`~greendc.service.security`: passwords (argon2), browser sessions with CSRF tokens, API tokens, roles
  and the login rate limit;
- :mod:`~greendc.service.app`: the FastAPI application and how a user-facing error becomes a response.
"""
