"""Backup and restore throughput against plain boto3 copying the same objects, in one run.

A registry on S3 (a moto server over HTTP, as bench/storage.py; or --endpoint) holds
COUNT encrypted objects of SIZE MiB. Measured: ``registry backup`` to a second bucket
(dump, read and hash every object, copy it with its metadata, signed manifest),
``registry restore`` from it into an empty deployment, and, as the yardstick, plain
boto3 streaming each object from one bucket to another (get_object into
upload_fileobj) with the same number of threads. Absolute figures on moto are the
emulator's; the ratio is what counts.

    .venv/bin/python bench/backup.py [--count 32] [--size 2] [--endpoint URL]
"""

from __future__ import annotations

import argparse
import io
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=32, help="objects (default 32)")
    parser.add_argument("--size", type=float, default=2, help="MiB per object (default 2)")
    parser.add_argument("--endpoint", help="S3 endpoint URL (default: start a moto server)")
    return parser.parse_args()


def bucket_url(endpoint: str, bucket: str) -> str:
    return (
        f"s3://{bucket}?endpoint_url={endpoint}&region=us-east-1&path_style=true&access_key=testing&secret_key=testing"
    )


def deployment(folder: Path, endpoint: str, name: str, database_url: str | None = None):
    from registry.app import create_app
    from registry.settings import load_settings

    settings = load_settings(
        {},
        instance_path=str(folder / name),
        database_url=database_url or f"sqlite:///{folder / name}.sqlite3",
        storage_url=bucket_url(endpoint, f"bench-{name}-{uuid.uuid4().hex[:8]}"),
        worm_selftest=False,
        copy_workers=0,
        copy_sweep_seconds=0,
        audit_checkpoint_minutes=0,
    )
    app = create_app(settings)
    runtime = app.extensions["registry"]
    runtime.raw_store.ensure_container()
    return runtime


def fill(runtime, count: int, size: int) -> int:
    """COUNT encrypted objects and their rows, as uploads leave them."""
    from registry.documents.models import StoredObject
    from registry.migrate import upgrade

    upgrade(runtime.engine)
    block = secrets.token_bytes(size)
    with runtime.sessions() as db:
        for _ in range(count):
            info = runtime.store.put(f"objects/{uuid.uuid4()}", io.BytesIO(block), length=size)
            db.add(
                StoredObject(
                    key=info.key,
                    size=info.size,
                    fingerprint=info.fingerprint,
                    key_id=info.key_id,
                    wrapped_key=info.wrapped_key,
                    content_type="application/octet-stream",
                )
            )
        db.commit()
    return sum(1 for _ in runtime.raw_store.iter_keys("objects/"))


def plain_boto3_copy(endpoint: str, source_bucket: str, keys: list[str], threads: int) -> float:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    target = f"bench-plain-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=target)

    def copy(key: str) -> None:
        body = client.get_object(Bucket=source_bucket, Key=key)["Body"]
        client.upload_fileobj(body, target, key)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(copy, keys))
    return time.perf_counter() - started


def main() -> None:
    args = parse_args()
    from registry.backup import service
    from storage.copy import hash_object
    from tests.support.moto_server import start_moto_server

    stop = None
    endpoint = args.endpoint
    if endpoint is None:
        endpoint, stop = start_moto_server()
    size = int(args.size * MiB)
    try:
        with tempfile.TemporaryDirectory() as temp:
            folder = Path(temp)
            origin = deployment(folder, endpoint, "origin")
            count = fill(origin, args.count, size)
            keys = sorted(origin.raw_store.iter_keys("objects/"))
            stored = sum(hash_object(origin.raw_store, k).size for k in keys)
            origin.audit_key  # noqa: B018  (made on first use)

            plain = plain_boto3_copy(endpoint, origin.raw_store.bucket, keys, service.WORKERS)
            destination = service.open_destination(bucket_url(endpoint, f"bench-dest-{uuid.uuid4().hex[:8]}"))
            started = time.perf_counter()
            summary = service.backup(origin, destination)
            backup_seconds = time.perf_counter() - started
            again = service.backup(origin, destination)

            (folder / "target").mkdir(mode=0o700)  # the keys, as `registry keys import` leaves them
            for name, path in (
                ("master-keys.json", origin.settings.master_key_file),
                ("audit-signing-key.pem", origin.settings.audit_signing_key_file),
            ):
                shutil.copy(path, folder / "target" / name)
            target = deployment(folder, endpoint, "target")
            started = time.perf_counter()
            service.restore(target, destination, summary.name)
            restore_seconds = time.perf_counter() - started
            checks_ok = service.audit_check(target).ok and service.scrub_check(target).ok
    finally:
        if stop:
            stop()

    mib = stored / MiB
    print(f"{count} objects, {mib:.1f} MiB stored (encrypted), {service.WORKERS} threads, endpoint {endpoint}")
    print(f"plain boto3 get+upload_fileobj  {plain:7.2f} s  {mib / plain:8.1f} MiB/s  (1.00)")
    print(
        f"registry backup (full)          {backup_seconds:7.2f} s  {mib / backup_seconds:8.1f} MiB/s  "
        f"({plain / backup_seconds:.2f} of plain boto3)"
    )
    print(
        f"registry backup (nothing new)   {again.seconds:7.2f} s  {mib / again.seconds:8.1f} MiB/s read  "
        f"({again.copied} copied)"
    )
    print(
        f"registry restore                {restore_seconds:7.2f} s  {mib / restore_seconds:8.1f} MiB/s  "
        f"({plain / restore_seconds:.2f} of plain boto3); audit verify + scrub {'pass' if checks_ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
