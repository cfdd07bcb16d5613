"""The JSON form of a distribution record (SPEC §8.2), shared by the API and the command line."""

from __future__ import annotations

from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.services.lookup import DistributionRecordView


def record_json(record: DistributionRecordView) -> dict[str, object]:
    return {
        "service_request_id": record.service_request_id,
        "device_id": record.device_id,
        "device_type": record.device_type,
        "firmware_version": record.firmware_version,
        "current_status": record.current_status.value,
        "current_status_reason": record.current_status_reason,
        "current_status_updated_at": format_rfc3339(record.current_status_updated_at),
        "completion_status": record.completion_status.value,
        "available_until": format_rfc3339(record.available_until),
        "history": [
            {
                "status": entry.status.value,
                "reason": entry.reason,
                "occurred_at": format_rfc3339(entry.occurred_at),
                "received_at": format_rfc3339(entry.received_at),
            }
            for entry in record.history
        ],
    }
