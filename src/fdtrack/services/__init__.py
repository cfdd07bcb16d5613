"""Use cases: ingest, look up, reset, purge and rejected-event handling over storage ports."""
