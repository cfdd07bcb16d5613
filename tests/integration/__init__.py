"""Integration tests: the real database (SQLite and PostgreSQL), the CLI and the web service over HTTP."""
