"""Adapters to the outside world: the database, event files, exports and DUIS messages."""
