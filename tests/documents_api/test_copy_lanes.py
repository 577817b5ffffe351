"""One heavy PDF must not keep everyone else's viewing copies waiting.

677 KiB of PDF can hold 500 pages that all draw one stream of 300,000 squares: minutes of CPU.
Its cost is estimated while the clerk waits; a file far beyond what a copy may use is refused
there and then, and one that is merely heavy is drawn in its own lane, so the next small upload's
copy is made at once instead of after it.
"""

from __future__ import annotations

import io
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa
from PIL import Image

from registry.app import create_app
from registry.documents.copies import CopyPolicy, ViewingCopies
from registry.documents.models import DocumentVersion
from registry.settings import SettingsError, load_settings
from tests.conftest import ApiClient, error_code
from tests.documents import files
from tests.documents_api.support import stored_keys, upload, uploaded

GENEROUS = 20  # seconds a small copy may take on a busy shared machine


def _status(runtime, document_id: str) -> str:
    with runtime.sessions() as db:
        return db.scalar(sa.select(DocumentVersion.viewing_status).where(DocumentVersion.document_id == document_id))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def copying(settings, clerk):
    """The app as a server runs it: copy threads on. The heavy file's copy may burn 25 s of CPU (not 60),
    so that stopping the app at the end of the test does not wait for a whole minute."""
    app = create_app(settings.with_overrides(copy_workers=1))
    runtime = app.extensions["registry"]
    policy = runtime.viewing_copies.policy
    runtime.viewing_copies.policy = replace(policy, limits=replace(policy.limits, cpu_seconds=25, wall_seconds=40))
    yield runtime, ApiClient(app.test_client(), clerk.token)
    runtime.close()


def test_a_small_upload_gets_its_copy_while_a_heavy_pdf_is_still_being_drawn(copying, person, tmp_path):
    runtime, client = copying
    heavy = files.shared_drawing_pdf(tmp_path / "heavy.pdf").read_bytes()
    assert len(heavy) < 1024 * 1024

    slow = uploaded(upload(client, person["id"], heavy, "heavy.pdf"))  # merely heavy: accepted
    photo = uploaded(upload(client, person["id"], _png(), "photo.png"))

    deadline = time.monotonic() + GENEROUS
    while _status(runtime, photo["id"]) == "pending" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _status(runtime, photo["id"]) == "ready"
    assert _status(runtime, slow["id"]) in ("pending", "failed")
    assert client.get(f"/documents/{photo['id']}/content").status_code == 200


def test_a_drawing_far_beyond_the_limits_is_refused_at_upload_with_what_to_do(client, person, runtime, tmp_path):
    endless = files.exponential_pdf(tmp_path / "endless.pdf", depth=30).read_bytes()  # 2 KiB, 2**30 squares

    response = upload(client, person["id"], endless, "endless.pdf")

    assert (response.status_code, error_code(response)) == (422, "conversion_failed")
    words = response.get_json()["error"]["message"]
    assert "too complex" in words and "Split the document" in words and "lower resolution" in words
    assert stored_keys(runtime) == []
    with runtime.sessions() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(DocumentVersion)) == 0


def test_the_estimate_is_kept_with_the_version(client, person, runtime, tmp_path):
    light = uploaded(upload(client, person["id"], _png(), "photo.png"))
    heavy = uploaded(
        upload(client, person["id"], files.shared_drawing_pdf(tmp_path / "h.pdf").read_bytes(), "heavy.pdf")
    )
    with runtime.sessions() as db:
        cost = dict(db.execute(sa.select(DocumentVersion.document_id, DocumentVersion.copy_cost)).all())

    assert cost[light["id"]] < 1000 < 60_000 < cost[heavy["id"]]  # milliseconds of drawing, roughly


# ---------------------------------------------------------------- how many children


@pytest.mark.parametrize("children", ["0", "17", "two"])
def test_converter_children_must_be_a_sensible_number(children, tmp_path):
    with pytest.raises(SettingsError, match="CONVERTER_CHILDREN"):
        load_settings({"REGISTRY_CONVERTER_CHILDREN": children}, instance_path=str(tmp_path))


def _lanes(copies: ViewingCopies) -> dict[str, int]:
    return {name: lane.threads for name, lane in copies.lanes.items()}


@pytest.mark.parametrize(
    ("threads", "children", "lanes"),
    [
        (1, 2, {"light": 1, "heavy": 1}),
        (4, 3, {"light": 2, "heavy": 1}),
        (4, 8, {"light": 4, "heavy": 1}),
        (1, 1, {"light": 1}),  # no heavy copies here: `registry copies make` or another process draws them
        (0, 2, {}),
    ],
)
def test_copy_threads_never_run_more_converter_children_than_allowed(threads, children, lanes, runtime, tmp_path):
    copies = ViewingCopies(
        runtime.sessions,
        lambda: runtime.store,
        CopyPolicy(str(tmp_path), children=children),
        threads=threads,
        sweep_seconds=0,
    )
    try:
        assert _lanes(copies) == lanes
        assert sum(lanes.values()) <= children
    finally:
        copies.close()


def test_the_setting_reaches_the_copy_threads(settings):
    app = create_app(settings.with_overrides(copy_workers=4, converter_children=3))
    runtime = app.extensions["registry"]
    try:
        assert _lanes(runtime.viewing_copies) == {"light": 2, "heavy": 1}
    finally:
        runtime.close()


def test_a_heavy_copy_waiting_for_another_process_keeps_no_plaintext(runtime, person, client, tmp_path):
    """With one child only, this process draws no heavy copy: the job stays pending for `registry copies make`
    (or another process), and its handed-over upload is deleted rather than left on disk."""
    copies = ViewingCopies(
        runtime.sessions,
        lambda: runtime.store,
        CopyPolicy(str(tmp_path / "uploads"), children=1),
        threads=1,
        sweep_seconds=0,
    )
    spooled = tmp_path / "uploads" / "v.original"
    spooled.parent.mkdir()
    spooled.write_bytes(b"plaintext")
    try:
        copies.submit("v", str(spooled), cost=10 * 60_000)
        assert not spooled.exists()
        assert copies.wait_idle(timeout=5)
    finally:
        copies.close()
