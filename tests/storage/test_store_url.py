"""The storage URL setting: what it accepts, and errors a sysadmin can act on."""

from __future__ import annotations

import pytest

from storage import FilesystemStore, S3Store, open_store


def test_absolute_file_url(tmp_path) -> None:
    store = open_store(f"file://{tmp_path}/objects")

    assert isinstance(store, FilesystemStore)
    assert store.root == tmp_path / "objects"


def test_relative_file_url_is_relative_to_the_working_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    store = open_store("file:instance/objects")

    assert store.root == tmp_path / "instance" / "objects"


def test_s3_url_with_all_options(moto_endpoint: str, s3_bucket: str) -> None:
    store = open_store(
        f"s3://{s3_bucket}?endpoint_url={moto_endpoint}&region=us-east-1"
        "&path_style=true&access_key=testing&secret_key=testing"
    )

    assert isinstance(store, S3Store)
    store.health()
    assert store.supports_lock()


def test_plus_and_percent_escapes_in_secret_keys_survive() -> None:
    store = open_store("s3://bucket?access_key=AK&secret_key=ab+cd%2Fef%26")

    credentials = store._client._request_signer._credentials
    assert credentials.secret_key == "ab+cd/ef&"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/var/lib/objects", "must start with file: or s3:"),
        ("ftp://host/objects", "must start with file: or s3:"),
        ("file://server/objects", "three slashes"),
        ("file:", "no folder"),
        ("file:///x?mode=1", "no '?' options"),
        ("s3://Bad_Bucket", "bucket name"),
        ("s3://", "bucket name"),
        ("s3://bucket/prefix", "no path"),
        ("s3://bucket?endpoint=http://x", "unknown S3 storage URL option 'endpoint'"),
        ("s3://bucket?region=a&region=b", "given twice"),
        ("s3://bucket?region=", "has no value"),
        ("s3://bucket?access_key=AK", "both access_key and secret_key"),
        ("s3://bucket?endpoint_url=127.0.0.1:9000", "http://host:port"),
        ("s3://bucket?path_style=maybe", "true or false"),
        ("s3://AK:SECRET@bucket", "access_key/secret_key options"),
    ],
)
def test_bad_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):
        open_store(url)


def test_errors_never_repeat_the_secret() -> None:
    with pytest.raises(ValueError) as caught:
        open_store("s3://bucket?secret_key=TOPSECRETVALUE&bogus=1")

    assert "TOPSECRETVALUE" not in str(caught.value)
