"""Upload and download throughput of a scanned PDF through the HTTP API, against raw boto3.

One run, one S3 endpoint: the registry (gunicorn, one sync worker, as in
production, on S3 and a temporary SQLite database) takes a generated PDF of
scanned pages through ``POST /api/v1/persons/{id}/documents``, streamed with
http.client, and gives it back through ``/original`` and ``/content``; boto3
puts and gets the same bytes with put_object / get_object (and, for reference,
its managed upload_fileobj / download_fileobj). The ratio is API MiB/s over boto3
MiB/s (target >= 0.6 for the upload), printed twice: best of each, and
round by round (each upload against the put_object just before it, which
drift on a shared machine hits alike), with the CPU time the whole machine
spent on each. The upload answers once the original is
stored and the file has been opened; the worker's copy thread then draws the
viewing copy, and the bench waits for it (reported on its own) before measuring
the downloads. The peak RSS is the worker's VmHWM; the converter child is sampled
while it runs. Then the upload is taken apart step by step in this process (same
file, same store) to show where its time goes.

Without --endpoint a moto server is started: an emulator, so absolute figures are
the emulator's and the ratio is what counts.

    .venv/bin/python bench/ingest.py [--ceph | --endpoint URL] [--size-mib 50] [--repeat 2]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO, Self, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024
T = TypeVar("T")
CHUNK = MiB
UPLOAD_RATIO_TARGET = 0.6
A4_POINTS = (595, 842)
SCAN_PIXELS = (2480, 3508)  # A4 at 300 dpi, as office scanners deliver it


# ---------------------------------------------------------------- the test file


def scanned_page(seed: int) -> bytes:
    """One colour A4 page at 300 dpi: paper grain, lines of dark 'words', JPEG quality 85 (~1.7 MB)."""
    from PIL import Image, ImageDraw

    width, height = SCAN_PIXELS
    rnd = random.Random(seed)
    grain = Image.effect_noise((width // 2, height // 2), 16).resize(SCAN_PIXELS)
    page = grain.point(lambda value: min(255, 110 + value))
    draw = ImageDraw.Draw(page)
    for top in range(300, height - 300, 60):
        left = 250
        while left < width - 300:
            word = rnd.randint(40, 200)
            draw.rectangle((left, top, left + word, top + 30), fill=rnd.randint(20, 70))
            left += word + 25
    tinted = Image.merge("RGB", (page, page.point(lambda v: max(0, v - 6)), page.point(lambda v: max(0, v - 18))))
    out = io.BytesIO()
    tinted.save(out, "JPEG", quality=85)
    return out.getvalue()


def scanned_pdf(path: Path, size: int) -> int:
    """Pages of scans until the file holds ``size`` bytes of pictures; returns the page count."""
    import pikepdf

    pdf = pikepdf.new()
    total = 0
    while total < size:
        picture = scanned_page(len(pdf.pages))
        total += len(picture)
        pdf.add_blank_page(page_size=A4_POINTS)
        page = pdf.pages[-1]
        image = pdf.make_stream(b"")
        image.write(picture, filter=pikepdf.Name.DCTDecode)
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height = SCAN_PIXELS
        image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceRGB, 8
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Scan=image))
        page.Contents = pdf.make_stream(b"q %d 0 0 %d 0 0 cm /Scan Do Q" % A4_POINTS)
    pdf.save(path)
    return len(pdf.pages)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------- the registry


@dataclass
class Registry:
    """A throwaway installation: settings in REGISTRY_* variables, a clerk's token, one person."""

    env: dict[str, str]
    token: str
    person_id: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def install(folder: Path, storage_url: str) -> Registry:
    """Migrate the database, create the bucket, a clerk who signed the undertaking, and a person."""
    from registry.accounts import service as accounts
    from registry.accounts.actor import Actor
    from registry.accounts.permissions import Role
    from registry.app import create_app
    from registry.audit.service import SYSTEM, ensure_chain_head
    from registry.db import make_engine
    from registry.migrate import upgrade
    from registry.settings import load_settings
    from storage import open_store

    env = {
        "REGISTRY_INSTANCE_PATH": str(folder / "instance"),
        "REGISTRY_DATABASE_URL": f"sqlite:///{folder / 'registry.sqlite3'}",
        "REGISTRY_STORAGE_URL": storage_url,
        "REGISTRY_MAX_UPLOAD_MB": "200",
    }
    engine = make_engine(env["REGISTRY_DATABASE_URL"])
    upgrade(engine)
    engine.dispose()
    open_store(storage_url).ensure_container()
    app = create_app(load_settings(env))
    runtime = app.extensions["registry"]
    with runtime.sessions() as db:
        ensure_chain_head(db)
        nda = accounts.publish_nda(
            db, SYSTEM, title="Undertaking", text="I will keep everything I see in this registry to myself."
        )
        clerk = accounts.create_user(
            db,
            SYSTEM,
            username="bench-clerk",
            full_name="Bench Clerk",
            password=secrets.token_urlsafe(24),
            roles={Role.CLERK},
        )
        token = accounts.create_api_token(db, SYSTEM, clerk, name="bench")
        accounts.acknowledge_nda(
            db, Actor(clerk), clerk, version=nda.version, text_sha256=nda.text_sha256, typed_full_name="Bench Clerk"
        )
        db.commit()
    person = app.test_client().post(
        "/api/v1/persons",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "names": [{"family_name": "Abdirasulova", "given_name": "Aigerim", "script": "latin", "kind": "official"}],
            "sex": "female",
            "birth_date": "2016-03-01",
            "birth_date_precision": "year",
        },
    )
    if person.status_code != 201:
        raise SystemExit(f"could not create the person: {person.get_json()}")
    runtime.engine.dispose()
    return Registry(env, token, person.get_json()["person"]["id"])


class Server:
    """gunicorn with one sync worker, as config/gunicorn.conf.py runs the registry in production."""

    def __init__(self, registry: Registry, log: BinaryIO) -> None:
        self.port = free_port()
        self.log_name = log.name
        env = {**os.environ, **registry.env, "REGISTRY_BIND": f"127.0.0.1:{self.port}", "REGISTRY_WORKERS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config/gunicorn.conf.py"), "registry.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.worker = self._wait_for_worker()

    def _wait_for_worker(self) -> int:
        """The worker's pid once it answers /healthz (the master listens before the worker has loaded)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200 and child_pids(self.process.pid):
                    return child_pids(self.process.pid)[0]
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.1)
        raise SystemExit(f"the registry did not start; see {self.log_name}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def child_pids(pid: int) -> list[int]:
    """Children of every thread of the process (the copy thread starts converters, not the main thread)."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


def memory_mib(pid: int, field_name: str) -> float:
    """VmHWM (peak) or VmRSS of a process, in MiB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class ChildMemory:
    """Samples the peak of the worker's children (the converter) while a request runs."""

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            for child in child_pids(self.worker):
                if is_converter(child):  # not a child caught between fork and exec, still the worker's image
                    self.peak = max(self.peak, memory_mib(child, "VmHWM"))


def is_converter(pid: int) -> bool:
    try:
        return b"registry.documents.converter" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


# ---------------------------------------------------------------- HTTP, streamed


def post_document(port: int, registry: Registry, path: Path) -> tuple[int, dict]:
    """Multipart POST of the file, sent in 1 MiB pieces straight from disk (never whole in memory)."""
    boundary = secrets.token_hex(16)
    fields = {"kind": "birth_record", "title": "Birth record, scanned, 30 pages"}
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    )
    tail = f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    connection.putrequest("POST", f"/api/v1/persons/{registry.person_id}/documents")
    connection.putheader("Authorization", f"Bearer {registry.token}")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head.encode()) + path.stat().st_size + len(tail)))
    connection.endheaders()
    connection.send(head.encode())
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            connection.send(chunk)
    connection.send(tail)
    response = connection.getresponse()
    body = json.loads(response.read() or b"{}")
    connection.close()
    return response.status, body


def get_streamed(port: int, registry: Registry, url: str) -> tuple[int, int, str]:
    """GET read in 1 MiB pieces: (status, bytes, SHA-256)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    connection.request("GET", url, headers={"Authorization": f"Bearer {registry.token}"})
    response = connection.getresponse()
    digest, size = hashlib.sha256(), 0
    while chunk := response.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    connection.close()
    return response.status, size, digest.hexdigest()


# ---------------------------------------------------------------- measurements


@dataclass
class Timing:
    label: str
    size: int
    seconds: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def rate(self) -> float:
        return self.size / MiB / self.best


def timed(action: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def machine_busy_seconds() -> float:
    """CPU time all cores have spent busy since boot (/proc/stat): what every process together used."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def timed_busy(action: Callable[[], T]) -> tuple[float, float, T]:
    """Wall seconds, machine CPU seconds, result."""
    busy = machine_busy_seconds()
    seconds, result = timed(action)
    return seconds, machine_busy_seconds() - busy, result


def boto3_client(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id=args.access_key,
        aws_secret_access_key=args.secret_key,
        config=Config(s3={"addressing_style": "path"}),
    )


def raw_put(client, bucket: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    with open(path, "rb") as fh:
        client.put_object(Bucket=bucket, Key="bench/raw", Body=fh)


def raw_get(client, bucket: str) -> None:  # type: ignore[no-untyped-def]
    body = client.get_object(Bucket=bucket, Key="bench/raw")["Body"]
    while body.read(CHUNK):
        pass


def managed_put(client, bucket: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    with open(path, "rb") as fh:
        client.upload_fileobj(fh, bucket, "bench/managed")


def managed_get(client, bucket: str) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryFile() as sink:
        client.download_fileobj(bucket, "bench/managed", sink)


@dataclass
class Round:
    """One round of every measurement, in a fixed order so drift hits them all."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    converter_peak: float = 0.0
    copy_size: int = 0
    copy_ready: float = 0.0


def wait_for_copy(port: int, registry: Registry, document: str) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", document, headers={"Authorization": f"Bearer {registry.token}"})
        status = json.loads(connection.getresponse().read())["document"]["versions"][0]["viewing_copy"]["status"]
        connection.close()
        if status == "ready":
            return
        if status != "pending":
            raise SystemExit(f"the viewing copy was not made: {status}")
        time.sleep(0.25)
    raise SystemExit("the viewing copy was not made within 10 minutes")


def one_round(
    server: Server,
    registry: Registry,
    client,
    bucket: str,
    pdf: Path,  # type: ignore[no-untyped-def]
    expected: str,
) -> Round:
    done = Round()
    done.seconds["put_object"], done.cpu["put_object"], _ = timed_busy(partial(raw_put, client, bucket, pdf))
    done.seconds["upload_fileobj"] = timed(partial(managed_put, client, bucket, pdf))[0]
    with ChildMemory(server.worker) as children:
        done.seconds["api_upload"], done.cpu["api_upload"], (status, body) = timed_busy(
            partial(post_document, server.port, registry, pdf)
        )
        if status != 201 or body["document"]["versions"][0]["size"] != pdf.stat().st_size:
            raise SystemExit(f"upload failed ({status}): {body}")
        document = f"/api/v1/documents/{body['document']['id']}"
        # The worker's copy thread draws the pages after the answer; the downloads wait for it, not compete.
        done.copy_ready = timed(partial(wait_for_copy, server.port, registry, document))[0]
    done.converter_peak = children.peak
    done.seconds["get_object"] = timed(partial(raw_get, client, bucket))[0]
    done.seconds["download_fileobj"] = timed(partial(managed_get, client, bucket))[0]
    done.seconds["api_original"], (status, size, digest) = timed(
        partial(get_streamed, server.port, registry, f"{document}/original")
    )
    if (status, size, digest) != (200, pdf.stat().st_size, expected):
        raise SystemExit(f"/original came back wrong: {status}, {size} bytes")
    done.seconds["api_content"], (status, done.copy_size, _) = timed(
        partial(get_streamed, server.port, registry, f"{document}/content")
    )
    if status != 200:
        raise SystemExit(f"/content failed: {status}")
    return done


def measure(args: argparse.Namespace, folder: Path, pdf: Path, pages: int) -> None:
    bucket = f"bench-{secrets.token_hex(6)}"
    storage_url = (
        f"s3://{bucket}?endpoint_url={args.endpoint}&region=us-east-1&path_style=true"
        f"&access_key={args.access_key}&secret_key={args.secret_key}"
    )
    registry = install(folder, storage_url)
    client = boto3_client(args)
    size, expected = pdf.stat().st_size, file_sha256(pdf)
    with open(folder / "gunicorn.log", "wb") as log:
        server = Server(registry, log)
        try:
            at_start = memory_mib(server.worker, "VmHWM")
            rounds = [one_round(server, registry, client, bucket, pdf, expected) for _ in range(args.repeat)]
            worker_peak = memory_mib(server.worker, "VmHWM")
        finally:
            server.stop()
    timings = {name: Timing(name, size, [r.seconds[name] for r in rounds]) for name in rounds[0].seconds}
    timings["api_content"].size = rounds[0].copy_size
    report(args, size, pages, timings, at_start, worker_peak, max(r.converter_peak for r in rounds))
    report_rounds(rounds)
    print(
        f"viewing copy ready {min(r.copy_ready for r in rounds):.2f} s after the upload answered "
        f"(made by the worker's copy thread; the downloads above were measured after it)"
    )
    breakdown(folder, pdf, registry, storage_url)


def report(
    args: argparse.Namespace,
    size: int,
    pages: int,
    timings: dict[str, Timing],
    at_start: float,
    worker_peak: float,
    converter_peak: float,
) -> None:
    print(
        f"endpoint {args.endpoint}{' (moto)' if args.moto else ' (Ceph RGW)' if args.ceph else ''}; "
        f"file {size / MiB:.1f} MiB, {pages} pages "
        f"of 300 dpi JPEG scans; best of {args.repeat}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"{'':22}{'MiB':>8}{'seconds':>10}{'MiB/s':>9}")
    for timing in timings.values():
        print(f"{timing.label:22}{timing.size / MiB:8.1f}{timing.best:10.2f}{timing.rate:9.1f}")
    upload = timings["api_upload"].rate / timings["put_object"].rate
    verdict = "ok" if upload >= UPLOAD_RATIO_TARGET else "BELOW TARGET"
    print(f"ratio upload   API / put_object     {upload:.2f}  (target {UPLOAD_RATIO_TARGET}: {verdict})")
    print(f"ratio upload   API / upload_fileobj {timings['api_upload'].rate / timings['upload_fileobj'].rate:.2f}")
    print(
        f"ratio download /original / get_object {timings['api_original'].rate / timings['get_object'].rate:.2f}"
        f"   / download_fileobj {timings['api_original'].rate / timings['download_fileobj'].rate:.2f}"
    )
    print(
        f"service peak RSS: gunicorn worker VmHWM {worker_peak:.0f} MiB (after start {at_start:.0f} MiB); "
        f"converter child VmHWM >= {converter_peak:.0f} MiB (sampled every 20 ms)"
    )


def report_rounds(rounds: list[Round]) -> None:
    """Round by round, each API upload against the put_object just before it: drift on a shared machine hits
    both alike, where the best of each may come from different moments."""
    ratios = sorted(r.seconds["put_object"] / r.seconds["api_upload"] for r in rounds)
    print(
        f"ratio upload   API / put_object round by round: median {statistics.median(ratios):.2f} "
        f"(from {ratios[0]:.2f} to {ratios[-1]:.2f}, {len(ratios)} rounds)"
    )
    put_cpu = statistics.median(r.cpu["put_object"] for r in rounds)
    api_cpu = statistics.median(r.cpu["api_upload"] for r in rounds)
    print(
        f"CPU busy on the machine ({os.cpu_count()} cores, every process: client, service, S3 server), median: "
        f"put_object {put_cpu:.2f} s, API upload {api_cpu:.2f} s ({api_cpu / put_cpu:.1f}x)"
    )


# ---------------------------------------------------------------- where the upload time goes


def breakdown(folder: Path, pdf: Path, registry: Registry, storage_url: str) -> None:
    """The pipeline's steps one after the other, in this process, on the same file and store."""
    from registry.documents.inspection import sniff_content_type
    from registry.documents.viewing_copy import inspect_original, make_viewing_copy
    from registry.runtime import load_keyring
    from registry.settings import load_settings
    from storage import EncryptedStore, open_store
    from storage.stream_aead import DEFAULT_SEGMENT_SIZE, EncryptingReader

    settings = load_settings(registry.env)
    store = EncryptedStore(open_store(storage_url), load_keyring(settings, create=False))
    work = Path(tempfile.mkdtemp(dir=folder))
    spooled = work / "original"

    def spool() -> None:
        with open(pdf, "rb") as source, open(spooled, "wb") as out:
            while chunk := source.read(CHUNK):
                out.write(chunk)

    def encrypt_only() -> None:
        """What EncryptedStore.put does to the bytes (AES-256-GCM segments + SHA-256), sent nowhere."""
        with open(spooled, "rb") as fh:
            sealed = EncryptingReader(
                fh,
                secrets.token_bytes(32),
                "bench/encrypt-only",
                DEFAULT_SEGMENT_SIZE,
                expected_length=spooled.stat().st_size,
            )
            while sealed.read(8 * MiB):
                pass

    def put(path: Path) -> None:
        with open(path, "rb") as fh:
            store.put(f"bench/{secrets.token_hex(8)}", fh, length=path.stat().st_size)

    spool_s = timed(spool)[0]
    sniff_s = timed(partial(sniff_content_type, str(spooled)))[0]
    inspect_s = timed(partial(inspect_original, str(spooled), "application/pdf", str(work)))[0]
    original_s = timed(partial(put, spooled))[0]
    convert_s, copy = timed(partial(make_viewing_copy, str(spooled), "application/pdf", str(work)))
    copy_path = Path(copy.path)
    copy_s = timed(partial(put, copy_path))[0]
    steps = [
        ("spool to disk", spool_s),
        ("content type (libmagic)", sniff_s),
        ("open + count pages (child process)", inspect_s),
        ("encrypt + put original", original_s),
        ("after the answer: viewing copy (child)", convert_s),
        (f"after the answer: put copy ({copy_path.stat().st_size / MiB:.1f} MiB)", copy_s),
    ]
    total = sum(seconds for _, seconds in steps)
    print("where an upload's time goes (each step alone, in this process, same file and store):")
    for label, seconds in steps:
        print(f"  {label:44}{seconds:7.2f} s  {100 * seconds / total:4.0f} %")
    print(f"  of 'encrypt + put original', encryption and hashing alone: {timed(encrypt_only)[0]:.2f} s")
    request = spool_s + sniff_s + max(inspect_s, original_s)
    print(
        f"  the request itself (the original stored while the child opens the file): {request:.2f} s; "
        f"the copy after it: {convert_s + copy_s:.2f} s"
    )


# ---------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", help="S3 endpoint URL, credentials testing/testing (default: start moto)")
    parser.add_argument(
        "--ceph",
        action="store_true",
        help="start a throwaway Ceph RGW (tests/support/ceph_rgw.py), a real S3 server, instead of moto",
    )
    parser.add_argument("--size-mib", type=int, default=50, help="size of the scanned PDF (default 50)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds, interleaved; the best is shown")
    parser.add_argument("--pdf", type=Path, help="use this PDF instead of generating one")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    args.moto = not (args.endpoint or args.ceph)
    args.access_key = args.secret_key = "testing"
    stop: Callable[[], None] | None = None
    if args.ceph:
        from tests.support.ceph_rgw import start_ceph_rgw

        cluster = start_ceph_rgw(Path(tempfile.mkdtemp(prefix="bench-ceph-")))
        args.endpoint, args.access_key, args.secret_key = cluster.endpoint_url, cluster.access_key, cluster.secret_key
        stop = cluster.stop
    elif args.moto:
        from tests.support.moto_server import start_moto_server

        args.endpoint, stop = start_moto_server()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as name:
            folder = Path(name)
            pdf = args.pdf or folder / "scanned-birth-record.pdf"
            if args.pdf:
                import pikepdf

                with pikepdf.open(pdf) as opened:
                    pages = len(opened.pages)
            else:
                pages = scanned_pdf(pdf, args.size_mib * MiB)
            measure(args, folder, pdf, pages)
    finally:
        if stop:
            stop()


if __name__ == "__main__":
    main()
