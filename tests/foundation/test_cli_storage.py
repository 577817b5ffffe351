"""`registry keys rotate` and `registry storage scrub` on a registry with documents in it."""
from __future__ import annotations

import io

import sqlalchemy as sa
from click.testing import CliRunner
from PIL import Image

from registry.app import create_app
from registry.cli import main
from tests.conftest import ApiClient


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _environment(monkeypatch, settings) -> None:
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", settings.instance_path)
    monkeypatch.setenv("REGISTRY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REGISTRY_STORAGE_URL", settings.storage_url)
    monkeypatch.setenv("REGISTRY_WORM_SELFTEST", "false")


def test_rotation_rewraps_every_data_key_and_old_documents_stay_readable(app, runtime, settings, staff, api,
                                                                           make_person, monkeypatch, make_copies):
    clerk = staff("clerk")
    person = make_person(clerk)
    uploaded = api(clerk).post(f"/persons/{person['id']}/documents",
                               data={"kind": "birth_record", "title": "Birth record",
                                     "file": (io.BytesIO(_png()), "scan.png", "image/png")})
    assert uploaded.status_code == 201
    document_id = uploaded.get_json()["document"]["id"]
    make_copies()
    with runtime.engine.connect() as conn:
        before = set(conn.scalars(sa.text("SELECT key_id FROM stored_objects")))

    _environment(monkeypatch, settings)
    result = CliRunner().invoke(main, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "2 data keys rewrapped" in result.output

    with runtime.engine.connect() as conn:
        after = set(conn.scalars(sa.text("SELECT key_id FROM stored_objects")))
    assert len(after) == 1 and not after & before
    restarted = create_app(settings)  # a fresh process reads the rotated keyring
    content = ApiClient(restarted.test_client(), clerk.token).get(f"/documents/{document_id}/content")
    assert content.status_code == 200 and content.data.startswith(b"\x89PNG")

    scrub = CliRunner().invoke(main, ["storage", "scrub"])
    assert scrub.exit_code == 0, scrub.output
    assert "2 objects checked: 0 missing, 0 corrupt, 0 orphans" in scrub.output


def _stored_rows(runtime) -> set[tuple[str, str, str]]:
    with runtime.engine.connect() as conn:
        return {tuple(row) for row in conn.execute(sa.text("SELECT key, key_id, wrapped_key FROM stored_objects"))}


def test_a_leaked_key_is_retired_after_every_object_is_encrypted_again(app, runtime, settings, staff, api,
                                                                        make_person, monkeypatch, make_copies):
    """Rewrapping leaves each data key as it was: whoever kept the leaked key and an old wrapped key (an earlier
    object version, a backup) still opens the object. Re-encryption gives every object a new data key."""
    clerk = staff("clerk")
    person = make_person(clerk)
    uploaded = api(clerk).post(f"/persons/{person['id']}/documents",
                               data={"kind": "birth_record", "title": "Birth record",
                                     "file": (io.BytesIO(_png()), "scan.png", "image/png")})
    document_id = uploaded.get_json()["document"]["id"]
    make_copies()
    before = _stored_rows(runtime)
    (leaked,) = {key_id for _key, key_id, _wrapped in before}
    _environment(monkeypatch, settings)

    refused = CliRunner().invoke(main, ["keys", "retire", leaked])
    assert refused.exit_code != 0 and "still wraps 2 data keys" in refused.output

    result = CliRunner().invoke(main, ["keys", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert "2 objects encrypted again" in result.output
    after = _stored_rows(runtime)
    assert not {key for key, _i, _w in after} & {key for key, _i, _w in before}  # new objects, new data keys
    assert leaked not in {key_id for _k, key_id, _w in after}
    assert not any(runtime.raw_store.exists(key) for key, _i, _w in before)  # nothing locked here: old ones gone

    retired = CliRunner().invoke(main, ["keys", "retire", leaked])
    assert retired.exit_code == 0, retired.output
    restarted = create_app(settings)
    assert leaked not in restarted.extensions["registry"].keyring.key_ids
    content = ApiClient(restarted.test_client(), clerk.token).get(f"/documents/{document_id}/original")
    assert content.status_code == 200 and content.data == _png()
    scrub = CliRunner().invoke(main, ["storage", "scrub"])
    assert scrub.exit_code == 0, scrub.output
