"""The audit log exported as CSV or JSON, entry by entry (the command line and the admin screen share it)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from fdtrack.adapters.csv_export import safe_cell
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.services.audit import AuditRecord, action_label

AUDIT_CSV_HEADER = ("id", "occurred_at", "actor", "action", "action_label", "subject", "detail")


def _audit_row(entry: AuditRecord) -> dict[str, object]:
    return {
        "id": entry.entry_id,
        "occurred_at": format_rfc3339(entry.occurred_at),
        "actor": entry.actor,
        "action": entry.action,
        "action_label": action_label(entry.action),
        "subject": entry.subject,
        "detail": entry.detail,
    }


def audit_json_chunks(entries: Iterator[AuditRecord]) -> Iterator[str]:
    """A JSON array written entry by entry, so a long log never sits in memory whole."""
    yield "["
    for number, entry in enumerate(entries):
        yield ("," if number else "") + "\n  " + json.dumps(_audit_row(entry), sort_keys=True)
    yield "\n]\n"


def audit_csv_chunks(entries: Iterator[AuditRecord]) -> Iterator[str]:
    class _Line:
        text = ""

        def write(self, value: str) -> None:
            self.text += value

    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    writer.writerow(AUDIT_CSV_HEADER)
    for entry in entries:
        row = _audit_row(entry)
        row["detail"] = json.dumps(entry.detail, sort_keys=True)
        # Actors and subjects can be text typed by anyone (a failed sign-in's username): formula-safe cells.
        writer.writerow([safe_cell(str(row[column])) for column in AUDIT_CSV_HEADER])
        yield line.text
        line.text = ""
    yield line.text
