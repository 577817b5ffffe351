"""Memory stays flat whatever the object size, on both backends.

Each transfer runs in a child process (bench/storage.py's measuring mode) that
reports its own peak-RSS growth, so the test process and the moto server,
which holds the object, are not counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from storage import Keyring

MiB = 1024 * 1024
SIZE = 200 * MiB + 12_345  # not a multiple of segments or parts
MAX_GROWTH_MIB = 64
BENCH = Path(__file__).resolve().parents[2] / "bench" / "storage.py"


def _measure(mode: str, target: list[str], key_file: Path, fingerprint: str | None = None) -> dict:
    command = [
        sys.executable,
        str(BENCH),
        "--child",
        mode,
        "--size-bytes",
        str(SIZE),
        "--key-file",
        str(key_file),
        *target,
    ]
    if fingerprint:
        command += ["--expected-fingerprint", fingerprint]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(params=["fs", "s3"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    if request.param == "fs":
        return ["--fs-root", str(tmp_path / "objects")]
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return [
        "--endpoint",
        endpoint,
        "--bucket",
        bucket,
        "--access-key",
        "testing",
        "--secret-key",
        "testing",
    ]


@pytest.mark.slow
def test_200_mib_object_put_and_get_with_flat_memory(target: list[str], tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    Keyring.generate(key_file)

    put = _measure("encrypted_put", target, key_file)
    get = _measure("encrypted_get", target, key_file, put["fingerprint"])  # fails unless the digest matches

    assert put["rss_growth_mib"] < MAX_GROWTH_MIB
    assert get["rss_growth_mib"] < MAX_GROWTH_MIB
