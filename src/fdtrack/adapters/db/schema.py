"""The tables (SQLAlchemy Core); Alembic migrations create them and tests check the two agree."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from fdtrack.adapters.db.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL needs 64 bits at national scale.
Id = BigInteger().with_variant(Integer(), "sqlite")

# Ranks are text that sorts like the derivation order (see store.py), compared byte by byte: the
# "C" collation on PostgreSQL, SQLite's default BINARY. The database merges states with them.
Rank = String(200).with_variant(String(200, collation="C"), "postgresql")

# PostgreSQL keeps the two tracking tables below partitioned by day (see partitions.py); these
# definitions are their shape on SQLite and the columns both databases share.
distribution_records = Table(
    "distribution_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # The day the record's Service Request was first received (request_buckets): a record and its
    # events live in that day's partition on PostgreSQL, whatever arrives for it later.
    Column("bucket_day", Date, nullable=False),
    Column("service_request_id", String(100), nullable=False),
    Column("device_id", String(23), nullable=False),
    Column("originator_user_id", String(23), nullable=False),
    Column("current_rank", Rank, nullable=False),
    Column("current_status", String(32), nullable=False),
    Column("current_reason", Text, nullable=False),
    Column("current_occurred_at", UtcDateTime, nullable=False),
    Column("completion_status", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("firmware_version", String(8)),
    Column("firmware_version_rank", Rank),
    Column("device_type", String(8)),
    Column("device_type_rank", Rank),
    Column("last_received_at", UtcDateTime, nullable=False),
    # Retention finds expired records by day: unlike last_received_at, the day rarely changes when
    # events arrive, so PostgreSQL can update rows in place (HOT) without touching every index.
    Column("last_received_day", Date, nullable=False),
    # The unique key also serves look-up by Service Request ID, in Device ID order.
    UniqueConstraint("service_request_id", "device_id"),
    Index(None, "device_id", "started_at"),
    Index(None, "originator_user_id", "service_request_id"),
    Index(None, "last_received_day"),
    postgresql_with={"fillfactor": 80},  # room on each page for those in-place updates
)

status_events = Table(
    "status_events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("record_id", Id, ForeignKey("distribution_records.id", ondelete="CASCADE"), nullable=False),
    Column("bucket_day", Date, nullable=False),  # always its record's
    # Its record's too: the column a sharded deployment distributes both tables by (docs/scaling.md).
    Column("device_id", String(23), nullable=False),
    Column("status", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("firmware_version", String(8)),
    Column("device_type", String(8)),
    Column("content_digest", LargeBinary(32), nullable=False),
    Index(None, "record_id"),
)

# Which day's partition holds each Service Request's records. Ingestion fixes it when the request
# is first seen; it goes when that partition is dropped. A request's records thus stay together.
request_buckets = Table(
    "request_buckets",
    metadata,
    Column("service_request_id", String(100), primary_key=True),
    Column("bucket_day", Date, nullable=False),
    Index(None, "bucket_day"),
)

# Which days' partitions hold each device's records (PostgreSQL; SQLite has no partitions and leaves
# it empty). A look-up by Device ID reads it first and names only those partitions: planning a
# statement over every day's partition costs more than the index probes it then makes. Ingestion
# adds a row with the device's record; a dropped partition takes its rows with it; a record deleted
# row by row leaves its row until then, which costs a look-up one empty probe and nothing else.
device_buckets = Table(
    "device_buckets",
    metadata,
    Column("device_id", String(23), primary_key=True),
    Column("bucket_day", Date, primary_key=True),
    Index(None, "bucket_day"),
)

# What each device is, as the supplier's device inventory (CSV or DUIS SR 8.2 responses) says; the
# last import of a device wins. Ingestion applies the scope rules of SPEC §3 to events that carry no
# device type through it, and look-ups show its device type where no event gave one. It describes
# devices, not distributions, so retention does not purge it.
device_inventory = Table(
    "device_inventory",
    metadata,
    Column("device_id", String(23), primary_key=True),
    Column("device_type", String(8), nullable=False),  # any DUIS device type, CHF to CAD
    Column("smets_chts_version", String(20)),
    Column("device_model", String(30)),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("source", String(300), nullable=False),
)

rejected_events = Table(
    "rejected_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(300), nullable=False),
    Column("format", String(8), nullable=False),
    Column("raw", Text, nullable=False),
    Column("reason", Text, nullable=False),
    # One row per distinct (raw, reason): re-reading the same bad input does not pile up copies.
    Column("digest", LargeBinary(32), nullable=False, unique=True),
    Column("first_received_at", UtcDateTime, nullable=False),
    Column("last_received_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Index(None, "resolved_at", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("subject", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Index(None, "occurred_at"),
    Index(None, "action", "occurred_at"),
)


# ---------------------------------------------------------------------------------------------
# Parties, accounts and sign-in sessions (migration 0003_accounts). API tokens will reference
# accounts.id from a table of their own.
# ---------------------------------------------------------------------------------------------

parties = Table(
    "parties",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

party_user_ids = Table(
    "party_user_ids",
    metadata,
    # A User ID (EUI-64) belongs to exactly one party: the primary key makes a second claim fail.
    Column("user_id", String(23), primary_key=True),
    Column("party_id", Id, ForeignKey("parties.id", ondelete="CASCADE"), nullable=False),
    Index(None, "party_id"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("party_id", Id, ForeignKey("parties.id"), nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Set while the account is disabled (migration 0010): it cannot sign in and its tokens are refused.
    Column("disabled_at", UtcDateTime),
    # Raised by every change of role, party, password or state, so servers that remember whose an API
    # token is (services/tokens.py) notice the change on the token's next request.
    Column("revision", Integer, nullable=False, server_default="0"),
    Index(None, "party_id"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    # Only a digest of the cookie's secret is stored, so a copy of the database cannot sign anyone in.
    Column("session_digest", LargeBinary(32), primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Index(None, "account_id"),
    Index(None, "last_seen_at"),
)


# ---------------------------------------------------------------------------------------------
# DUIS Update Firmware requests (migration 0002_duis): SR 11.1 / 11.4 remembered so that their
# responses can be told device by device. One row per request; the device list (up to 50,000
# Device IDs) is kept as comma-separated text because it is always read and written whole.
# ---------------------------------------------------------------------------------------------

duis_firmware_requests = Table(
    "duis_firmware_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("service_request_id", String(100), nullable=False, unique=True),
    Column("originator_user_id", String(23), nullable=False),
    Column("service_reference", String(8), nullable=False),
    Column("firmware_version", String(8), nullable=False),
    Column("device_type", String(8)),
    Column("device_count", Integer, nullable=False),
    Column("device_ids", Text, nullable=False),
    Column("content_digest", LargeBinary(32), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "received_at"),
)


# DUIS Activate Firmware requests (migration 0009_activation_schedules): SR 11.3 remembered so that
# a later acknowledgement can show a future-dated activation's ExecutionDateTime, and a DCC Alert
# CommandFailure can be told to concern an 11.3. Forgotten once older than the retention period.
duis_activation_requests = Table(
    "duis_activation_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("service_request_id", String(100), nullable=False, unique=True),
    Column("device_id", String(23), nullable=False),
    Column("execution_at", UtcDateTime),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "received_at"),
)


# ---------------------------------------------------------------------------------------------
# API tokens (migration 0004_api_tokens). Only a SHA-256 of each token is kept; a revoked token
# keeps its row (revoked_at set) so listings and the audit log can still name it.
# ---------------------------------------------------------------------------------------------

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_digest", LargeBinary(32), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),
    Column("name", String(100), nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("revoked_by", String(100)),
    Index(None, "account_id"),
)

# ---------------------------------------------------------------------------------------------
# Abuse of sign-in and the API (migration 0010_account_lifecycle): throttles per name and source,
# failed sign-ins of unknown names counted per source and hour, rate-limit counters, and the moment
# before which audit entries may be deleted (retention; the triggers refuse every other deletion).
# ---------------------------------------------------------------------------------------------

signin_throttles = Table(
    "signin_throttles",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("blocked_until", UtcDateTime, nullable=False),
    Column("last_failed_at", UtcDateTime, nullable=False),
    Index(None, "last_failed_at"),
)

signin_failures = Table(
    "signin_failures",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("window_start", UtcDateTime, primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    Index(None, "window_start"),
)

rate_limit_counters = Table(
    "rate_limit_counters",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Index(None, "expires_at_ms"),
)

audit_retention = Table(
    "audit_retention",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("cutoff", UtcDateTime, nullable=False),
)

# The audit log page and `fdtrack audit --actor` filter by who acted, newest first.
Index("ix_audit_log_actor_occurred_at", audit_log.c.actor, audit_log.c.occurred_at)
