"""`registry keys rotate` and `registry storage scrub` on a registry with documents in it."""

from __future__ import annotations

import hashlib
import io
import json

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


def test_rotation_rewraps_every_data_key_and_old_documents_stay_readable(
    app, runtime, settings, staff, api, make_person, monkeypatch, make_copies
):
    clerk = staff("clerk")
    person = make_person(clerk)
    uploaded = api(clerk).post(
        f"/persons/{person['id']}/documents",
        data={"kind": "birth_record", "title": "Birth record", "file": (io.BytesIO(_png()), "scan.png", "image/png")},
    )
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


def test_a_leaked_key_is_retired_after_every_object_is_encrypted_again(
    app, runtime, settings, staff, api, make_person, monkeypatch, make_copies
):
    """Rewrapping leaves each data key as it was: whoever kept the leaked key and an old wrapped key (an earlier
    object version, a backup) still opens the object. Re-encryption gives every object a new data key."""
    clerk = staff("clerk")
    person = make_person(clerk)
    uploaded = api(clerk).post(
        f"/persons/{person['id']}/documents",
        data={"kind": "birth_record", "title": "Birth record", "file": (io.BytesIO(_png()), "scan.png", "image/png")},
    )
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


def _upload(api, clerk, person, content: bytes):
    return api(clerk).post(
        f"/persons/{person['id']}/documents",
        data={"kind": "birth_record", "title": "Birth record", "file": (io.BytesIO(content), "scan.png", "image/png")},
    )


def _fingerprint_keys(runtime) -> set[str]:
    with runtime.engine.connect() as conn:
        return {text.split(":")[1] for text in conn.scalars(sa.text("SELECT fingerprint FROM stored_objects"))}


def test_after_a_rotation_fingerprints_are_made_again_before_the_old_key_can_go(
    app, runtime, settings, staff, api, make_person, monkeypatch, make_copies
):
    """Fingerprints are keyed: after a rotation a new upload of the same file is found as a duplicate again only
    once the old fingerprints were made again, and the old key cannot be retired while any was made with it."""
    clerk = staff("clerk")
    person = make_person(clerk)
    first = _upload(api, clerk, person, _png()).get_json()["document"]
    make_copies()
    (old_key,) = _fingerprint_keys(runtime)
    _environment(monkeypatch, settings)

    rotated = CliRunner().invoke(main, ["keys", "rotate"])
    assert rotated.exit_code == 0 and "registry keys refingerprint" in rotated.output
    refused = CliRunner().invoke(main, ["keys", "retire", old_key])
    assert refused.exit_code != 0
    assert f"2 object fingerprints were made with master key {old_key}" in refused.output

    again = CliRunner().invoke(main, ["keys", "refingerprint"])
    assert again.exit_code == 0, again.output
    assert "2 objects fingerprinted again" in again.output
    assert old_key not in _fingerprint_keys(runtime)
    retired = CliRunner().invoke(main, ["keys", "retire", old_key])
    assert retired.exit_code == 0, retired.output

    restarted = create_app(settings)
    clerk_there = ApiClient(restarted.test_client(), clerk.token)
    second = clerk_there.post(
        f"/persons/{person['id']}/documents",
        data={
            "kind": "birth_record",
            "title": "Birth record, again",
            "file": (io.BytesIO(_png()), "scan.png", "image/png"),
        },
    )
    assert [d["id"] for d in second.get_json()["duplicates"]] == [first["id"]]
    assert clerk_there.get(f"/documents/{first['id']}/original").data == _png()


def test_plain_hashes_from_before_keyed_fingerprints_are_checked_then_replaced(
    app, runtime, settings, staff, api, make_person, monkeypatch, make_copies
):
    """What migration 0009 leaves of a deployment's existing rows: 'sha256:<hex>', still checked on every read,
    reported by `init`, replaced (and logged) by `keys refingerprint`."""
    clerk = staff("clerk")
    person = make_person(clerk)
    document = _upload(api, clerk, person, _png()).get_json()["document"]
    make_copies()
    plain = "sha256:" + hashlib.sha256(_png()).hexdigest()
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE stored_objects SET fingerprint = :f WHERE id = (SELECT original_id FROM "
                "document_versions WHERE document_id = :d)"
            ),
            {"f": plain, "d": document["id"]},
        )
    assert api(clerk).get(f"/documents/{document['id']}/original").data == _png()
    _environment(monkeypatch, settings)

    init = CliRunner().invoke(main, ["init"])
    assert init.exit_code == 0, init.output
    assert "1 objects still have a plain SHA-256 fingerprint" in init.output

    again = CliRunner().invoke(main, ["keys", "refingerprint"])
    assert again.exit_code == 0 and "1 objects fingerprinted again" in again.output
    with runtime.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM stored_objects WHERE fingerprint LIKE 'sha256:%'")) == 0
        logged = conn.execute(
            sa.text("SELECT target_id, details FROM audit_events WHERE action = 'document.refingerprinted'")
        ).all()
    assert [(target, json.loads(details)["version"]) for target, details in logged] == [(document["id"], 1)]
    assert "plain SHA-256 fingerprint" not in CliRunner().invoke(main, ["init"]).output


def test_a_plain_hash_that_does_not_match_stops_refingerprinting_and_changes_nothing(
    app, runtime, settings, staff, api, make_person, monkeypatch, make_copies
):
    clerk = staff("clerk")
    person = make_person(clerk)
    _upload(api, clerk, person, _png())
    make_copies()
    with runtime.engine.begin() as conn:
        conn.execute(sa.text("UPDATE stored_objects SET fingerprint = :f"), {"f": "sha256:" + "0" * 64})
    _environment(monkeypatch, settings)

    result = CliRunner().invoke(main, ["keys", "refingerprint"])

    assert result.exit_code != 0 and "nothing was changed: run `registry storage scrub`" in result.output
    with runtime.engine.connect() as conn:
        assert set(conn.scalars(sa.text("SELECT fingerprint FROM stored_objects"))) == {"sha256:" + "0" * 64}
