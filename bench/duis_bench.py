"""DUIS ingestion benchmark: a 50,000-device 11.1 response into records, then a stream of device alerts.

Run: .venv/bin/python bench/duis_bench.py [--database-url URL] [--devices 50000] [--alerts 10000]
Without --database-url a fresh SQLite file in a temporary folder is used.
"""

from __future__ import annotations

import argparse
import base64
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.duis.decoder import DuisDecoder
from fdtrack.services.duis_ingest import DuisDocument, ingest_duis
from fdtrack.services.ingest import IngestOptions, IngestSummary

USER, DCC = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-00-00-02"
REQUEST_ID = f"{USER}:{DCC}:424242"
_NS = 'xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"'


def device_ids(count: int) -> list[str]:
    return [
        f"00-DB-{n >> 24 & 0xFF:02X}-{n >> 16 & 0xFF:02X}-{n >> 8 & 0xFF:02X}-{n & 0xFF:02X}-00-01"
        for n in range(count)
    ]


def update_firmware_request(devices: list[str]) -> bytes:
    image = base64.b64encode(bytes(range(256)) * 1024).decode()  # a 256 KiB image, as real ones are
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sr:Request {_NS}><sr:Header>'
        f"<sr:RequestID>{REQUEST_ID}</sr:RequestID><sr:CommandVariant>8</sr:CommandVariant>"
        "<sr:ServiceReference>11.1</sr:ServiceReference><sr:ServiceReferenceVariant>11.1</sr:ServiceReferenceVariant>"
        f"</sr:Header><sr:Body><sr:UpdateFirmware><sr:FirmwareImage>{image}</sr:FirmwareImage>"
        f"<sr:FirmwareVersion>0123ABCD</sr:FirmwareVersion><sr:DeviceIDList>{','.join(devices)}</sr:DeviceIDList>"
        "</sr:UpdateFirmware></sr:Body></sr:Request>"
    ).encode()


def update_firmware_response(refused: list[str]) -> bytes:
    warning = (
        "<sr:DSPUpdateFirmwareWarning><sr:NotCommissionedDeviceIDList>"
        f"{','.join(refused)}</sr:NotCommissionedDeviceIDList></sr:DSPUpdateFirmwareWarning>"
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sr:Response {_NS}><sr:Header>'
        f"<sr:RequestID>{REQUEST_ID}</sr:RequestID><sr:ResponseID>{DCC}:{USER}:424242</sr:ResponseID>"
        "<sr:ResponseCode>W110101</sr:ResponseCode><sr:ResponseDateTime>2026-11-02T10:00:00.000Z</sr:ResponseDateTime>"
        "</sr:Header><sr:Body><sr:ResponseMessage><sr:ServiceReference>11.1</sr:ServiceReference>"
        f"<sr:ServiceReferenceVariant>11.1</sr:ServiceReferenceVariant>{warning}</sr:ResponseMessage>"
        "</sr:Body></sr:Response>"
    ).encode()


def device_alert(device: str, counter: int) -> bytes:
    """An 8F72 DeviceAlertMessage with a GBCS General-Signing payload, as a device sends it."""
    originator = bytes.fromhex(device.replace("-", ""))
    recipient = bytes.fromhex(USER.replace("-", ""))
    content = bytes([0x0F]) + counter.to_bytes(4, "big") + bytes([0, 2, 3, 0x12, 0x8F, 0x72, 9, 0, 9, 0x20]) + b"Z" * 32
    frame = bytes([0xDF, 9, 3]) + counter.to_bytes(8, "big") + bytes([8]) + originator + bytes([8]) + recipient
    frame += bytes([0, 2, 0, 0xCE, len(content)]) + content + bytes([0x40]) + bytes(64)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sr:Response {_NS}><sr:Header>'
        f"<sr:ResponseID>{device}:{USER}:{counter}</sr:ResponseID><sr:ResponseCode>I0</sr:ResponseCode>"
        "<sr:ResponseDateTime>2026-11-03T09:00:00.000Z</sr:ResponseDateTime></sr:Header><sr:Body>"
        f"<sr:DeviceAlertMessage><sr:AlertCode>8F72</sr:AlertCode><sr:GBCSPayload>{base64.b64encode(frame).decode()}"
        "</sr:GBCSPayload></sr:DeviceAlertMessage></sr:Body></sr:Response>"
    ).encode()


def alerts(devices: list[str]) -> Iterator[DuisDocument]:
    for counter, device in enumerate(devices, start=1):
        yield DuisDocument(f"alert-{counter}.xml", device_alert(device, counter))


def run(store: SqlStore, documents: Iterator[DuisDocument] | list[DuisDocument]) -> tuple[IngestSummary, float, float]:
    """Ingest; returns the summary, wall-clock seconds and this process's CPU seconds (stable on a busy host)."""
    started, cpu = time.perf_counter(), time.process_time()
    summary = ingest_duis(store, store.firmware_requests, DuisDecoder(), documents, IngestOptions())
    return summary, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--alerts", type=int, default=10_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        store = SqlStore.open(url)
        devices = device_ids(arguments.devices)
        refused = devices[:: max(1, len(devices) // 100)]  # about 1 % refused by the DSP
        request = DuisDocument("request.xml", update_firmware_request(devices))
        _, request_seconds, _ = run(store, [request])
        response = DuisDocument("response.xml", update_firmware_response(refused))
        summary, response_seconds, response_cpu = run(store, [response])
        assert summary.accepted == len(devices), summary.as_json()
        print(f"11.1 request, {len(devices)} devices, {len(request.content) / 1e6:.1f} MB: {request_seconds:.2f} s")
        print(f"response into {summary.accepted} records: {response_seconds:.2f} s (CPU {response_cpu:.2f} s)")
        refused_set = set(refused)
        streamed = [device for device in devices if device not in refused_set][-arguments.alerts :]
        summary, alert_seconds, alert_cpu = run(store, alerts(streamed))
        assert summary.accepted == len(streamed), summary.as_json()
        rate = len(streamed) / alert_seconds
        print(f"{len(streamed)} single-device 8F72 alerts: {alert_seconds:.2f} s, {rate:.0f}/s (CPU {alert_cpu:.2f} s)")
        store.dispose()


if __name__ == "__main__":
    main()
