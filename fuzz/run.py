"""Runs every fuzzing harness for a bounded number of inputs, seeded with real messages and events."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Reference material beside the project, read in place (never copied into it), and the project's own samples.
DUIS_SEEDS = [ROOT.parent / "shared" / "duis", ROOT / "tests" / "fixtures" / "duis"]
_EVENT = {
    "request_id": "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000",
    "device_id": "00-DB-12-34-56-78-90-A0",
    "status": "Accepted by DSP",
    "occurred_at": "2026-11-20T10:00:00Z",
    "reason": "ok",
    "firmware_version": "0A1B2C3D",
    "device_type": "ESME",
}
EVENT_SEEDS = {
    "ndjson": b"\x00" + json.dumps(_EVENT).encode() + b"\n{}\n",
    "csv": b"\x01" + ",".join(_EVENT).encode() + b"\r\n" + ",".join(_EVENT.values()).encode() + b"\r\n",
    "json": b"\x02" + json.dumps([_EVENT, {}]).encode(),
}


def _seed(corpus: Path, harness: str) -> None:
    if harness == "duis_decoder.py":
        for folder in DUIS_SEEDS:
            for sample in sorted(folder.glob("*")):
                if sample.suffix.lower() == ".xml" and sample.is_file():
                    (corpus / sample.name).write_bytes(sample.read_bytes())
    else:
        for name, content in EVENT_SEEDS.items():
            (corpus / name).write_bytes(content)


def run(harness: str, runs: int, artifacts: Path) -> int:
    """libFuzzer's exit code: 0 when every input was decoded or refused as the code promises."""
    with tempfile.TemporaryDirectory(prefix="fdtrack-fuzz-") as folder:
        corpus = Path(folder)
        _seed(corpus, harness)
        command = [
            sys.executable,
            str(HERE / harness),
            f"-runs={runs}",
            "-max_len=16384",
            "-timeout=60",
            "-rss_limit_mb=2048",
            f"-artifact_prefix={artifacts}/{Path(harness).stem}-",
            str(corpus),
        ]
        return subprocess.run(command, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200_000, help="inputs per harness")
    parser.add_argument("--artifacts", type=Path, default=HERE / "artifacts", help="where a failing input is saved")
    parser.add_argument("harnesses", nargs="*", default=["duis_decoder.py", "event_reader.py"])
    options = parser.parse_args()
    options.artifacts.mkdir(parents=True, exist_ok=True)
    failed = [harness for harness in options.harnesses if run(harness, options.runs, options.artifacts)]
    if failed:
        print(f"fuzzing found failing inputs in {', '.join(failed)}; see {options.artifacts}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
