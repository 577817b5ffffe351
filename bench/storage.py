"""Throughput and memory of the encrypted S3 path against plain boto3.

For each size, in one run and against one endpoint: EncryptedStore(S3Store)
put and get, boto3's managed transfers (upload_fileobj / download_fileobj with
the default TransferConfig) and, for reference, single put_object /
get_object().read(). Each measurement runs in its own child process so its peak
RSS growth (ru_maxrss) is its own. Without --endpoint a moto server is started
(an emulator: absolute figures are the emulator's, the ratio is what counts);
--ceph starts a real S3 server (Ceph RGW from Debian's packages) instead.

    .venv/bin/python bench/storage.py --sizes 50,500 [--ceph | --endpoint URL]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024
PUTS = ("encrypted_put", "upload_fileobj", "put_object")
GETS = ("encrypted_get", "download_fileobj", "get_object")
RATIO_TARGET = 0.7
RSS_TARGET_MIB = 64


class PatternStream(io.RawIOBase):
    """``size`` pseudo-random bytes made on the fly from one 1 MiB block (not seekable)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._block = memoryview(secrets.token_bytes(MiB))
        self._left = size
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self._left, MiB - self._offset)
        buffer[:count] = self._block[self._offset : self._offset + count]
        self._offset = (self._offset + count) % MiB
        self._left -= count
        return count


class NullSink(io.RawIOBase):
    """A seekable writable that forgets what it is given."""

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return offset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,500", help="object sizes in MiB, comma-separated")
    parser.add_argument("--endpoint", help="S3 endpoint URL (default: start a moto server)")
    parser.add_argument(
        "--ceph",
        action="store_true",
        help="start a throwaway Ceph RGW (tests/support/ceph_rgw.py) instead of moto",
    )
    parser.add_argument("--bucket", help="existing bucket to use (default: create one)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
    parser.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
    parser.add_argument("--part-mib", type=int, help="S3Store part size (default: S3Store's)")
    parser.add_argument("--threads", type=int, help="S3Store transfer threads (default: S3Store's)")
    parser.add_argument("--in-flight", type=int, help="S3Store parts in flight (default: S3Store's)")
    parser.add_argument("--only", help="comma-separated subset of measurements")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per size (best is shown)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size-bytes", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--key-file", help=argparse.SUPPRESS)
    parser.add_argument("--fs-root", help=argparse.SUPPRESS)
    parser.add_argument("--expected-fingerprint", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def boto3_client(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        region_name=args.region,
        aws_access_key_id=args.access_key,
        aws_secret_access_key=args.secret_key,
        config=Config(s3={"addressing_style": "path"}),
    )


def tuning(args: argparse.Namespace) -> dict[str, int]:
    """S3Store settings given on the command line; the others keep S3Store's defaults."""
    chosen = {
        "part_size": args.part_mib and args.part_mib * MiB,
        "transfer_threads": args.threads,
        "parts_in_flight": args.in_flight,
    }
    return {name: value for name, value in chosen.items() if value}


def encrypted_store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """EncryptedStore over S3, or over a folder with --fs-root (used by the memory tests)."""
    from storage import EncryptedStore, FilesystemStore, Keyring, S3Store

    if args.fs_root:
        store = FilesystemStore(args.fs_root)
        store.ensure_container()
    else:
        store = S3Store(
            args.bucket,
            endpoint_url=args.endpoint,
            region=args.region,
            path_style=True,
            access_key=args.access_key,
            secret_key=args.secret_key,
            **tuning(args),
        )
    return EncryptedStore(store, Keyring.load(args.key_file))


def run_child(args: argparse.Namespace) -> dict[str, object]:
    """One measurement; RSS growth is counted from after setup (imports, clients, inputs)."""
    size, mode = args.size_bytes, args.child
    key = f"bench/{mode.split('_')[0] if mode.startswith('encrypted') else 'plain'}-{size}"
    target = encrypted_store(args) if mode.startswith("encrypted") else boto3_client(args)
    payload = bytes(PatternStream(size).read()) if mode == "put_object" else None
    extra: dict[str, object] = {}
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if mode == "encrypted_put":
        extra["fingerprint"] = target.put(key, PatternStream(size), length=size).fingerprint
    elif mode == "encrypted_get":
        with target.open(key, expected_fingerprint=args.expected_fingerprint) as reader:
            while reader.read(MiB):
                pass
    elif mode == "upload_fileobj":
        target.upload_fileobj(PatternStream(size), args.bucket, key)
    elif mode == "download_fileobj":
        target.download_fileobj(args.bucket, key, NullSink())
    elif mode == "put_object":
        target.put_object(Bucket=args.bucket, Key=key, Body=payload)
    elif mode == "get_object":
        body = target.get_object(Bucket=args.bucket, Key=key)["Body"]
        while body.read(MiB):
            pass
    seconds = time.perf_counter() - started
    growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
    return {"seconds": seconds, "rss_growth_mib": growth_kib / 1024, **extra}


def measure(args: argparse.Namespace, mode: str, size: int, key_file: str, sha: str | None) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--size-bytes",
        str(size),
        "--endpoint",
        args.endpoint,
        "--bucket",
        args.bucket,
        "--region",
        args.region,
        "--access-key",
        args.access_key,
        "--secret-key",
        args.secret_key,
        "--key-file",
        key_file,
    ]
    for option, value in (
        ("--part-mib", args.part_mib),
        ("--threads", args.threads),
        ("--in-flight", args.in_flight),
    ):
        if value:
            command += [option, str(value)]
    if sha:
        command += ["--expected-fingerprint", sha]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    args = parse_args()
    if args.child:
        print(json.dumps(run_child(args)))
        return
    from storage import Keyring, S3Store

    stop = None
    if args.ceph:
        from tests.support.ceph_rgw import start_ceph_rgw

        cluster = start_ceph_rgw(Path(tempfile.mkdtemp(prefix="bench-ceph-")))
        args.endpoint, args.access_key, args.secret_key = (
            cluster.endpoint_url,
            cluster.access_key,
            cluster.secret_key,
        )
        stop = cluster.stop
    elif not args.endpoint:
        from tests.support.moto_server import start_moto_server

        args.endpoint, stop = start_moto_server()
    try:
        if not args.bucket:
            args.bucket = f"bench-{secrets.token_hex(6)}"
            S3Store(
                args.bucket,
                endpoint_url=args.endpoint,
                region=args.region,
                path_style=True,
                access_key=args.access_key,
                secret_key=args.secret_key,
            ).ensure_container()
        with tempfile.TemporaryDirectory() as folder:
            key_file = str(Path(folder) / "master.key")
            Keyring.generate(key_file)
            report(args, key_file)
    finally:
        if stop:
            stop()


def report(args: argparse.Namespace, key_file: str) -> None:
    """Best of ``--repeat`` rounds per measurement, rounds interleaved so drift hits all."""
    only = set(args.only.split(",")) if args.only else set(PUTS + GETS)
    modes = [mode for mode in PUTS + GETS if mode in only]
    print(f"endpoint {args.endpoint}  S3Store settings {tuning(args) or 'defaults'}  best of {args.repeat}")
    for mode in ("encrypted_put", "upload_fileobj"):  # first writes create pools, warm caches
        measure(args, mode, 16 * MiB, key_file, None)
    print(f"{'size MiB':>8}  {'measurement':<17} {'MiB/s':>8}  {'RSS growth MiB':>14}")
    for size_mib in (int(size) for size in args.sizes.split(",")):
        size = size_mib * MiB
        results: dict[str, dict] = {}
        for _ in range(args.repeat):
            sha = None
            for mode in modes:
                result = measure(args, mode, size, key_file, sha)
                sha = result.get("fingerprint", sha)  # type: ignore[assignment]
                result["rate"] = size_mib / result["seconds"]
                best = results.setdefault(mode, result)
                best["rate"] = max(best["rate"], result["rate"])
                best["rss_growth_mib"] = max(best["rss_growth_mib"], result["rss_growth_mib"])
        for mode in modes:
            rate, growth = results[mode]["rate"], results[mode]["rss_growth_mib"]
            print(f"{size_mib:>8}  {mode:<17} {rate:>8.1f}  {growth:>14.1f}")
        for ours, theirs in (
            ("encrypted_put", "upload_fileobj"),
            ("encrypted_get", "download_fileobj"),
            ("encrypted_put", "put_object"),
            ("encrypted_get", "get_object"),
        ):
            if ours in results and theirs in results:
                ratio = results[ours]["rate"] / results[theirs]["rate"]
                verdict = "ok" if ratio >= RATIO_TARGET else "BELOW TARGET"
                print(f"{size_mib:>8}  ratio {ours} / {theirs}: {ratio:.2f} ({verdict})")
        for ours in ("encrypted_put", "encrypted_get"):
            if ours in results:
                growth = results[ours]["rss_growth_mib"]
                verdict = "ok" if growth < RSS_TARGET_MIB else "ABOVE TARGET"
                print(f"{size_mib:>8}  {ours} peak RSS growth {growth:.1f} MiB ({verdict})")


if __name__ == "__main__":
    main()
