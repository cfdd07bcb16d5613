"""The coverage-guided fuzzing harnesses (fuzz/) run a bounded number of inputs each and find nothing."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
RUNS = 50_000  # a few seconds each: enough to pass the seeds' structure and mutate past it


def require_atheris() -> None:
    """Skip with a visible reason outside CI; in CI a missing fuzzer is a failure."""
    if importlib.util.find_spec("atheris") is not None:
        return
    problem = "atheris is not installed (it ships wheels for Linux on x86-64 only)"
    if IN_CI:
        pytest.fail(f"fuzzing is mandatory in CI: {problem}")
    pytest.skip(problem)


@pytest.mark.parametrize("harness", ["duis_decoder.py", "event_reader.py"])
def test_the_harness_finds_no_input_that_breaks_the_promise(harness: str, tmp_path: Path) -> None:
    require_atheris()
    result = subprocess.run(
        [sys.executable, str(FUZZ / "run.py"), "--runs", str(RUNS), "--artifacts", str(tmp_path), harness],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4_000:]
    assert f"Done {RUNS} runs" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no crash, leak or timeout input was saved
