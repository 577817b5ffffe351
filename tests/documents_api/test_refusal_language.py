"""The API answers an upload refusal in the language the clerk's browser asks for."""

from __future__ import annotations

import io
import re

import pytest

from tests.conftest import error_code

CYRILLIC = re.compile("[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]")


def _upload(client, person_id: str, content: bytes, filename: str, declared: str, language: str):
    data = {"file": (io.BytesIO(content), filename, declared), "kind": "passport", "title": "Passport"}
    return client.post(
        f"/persons/{person_id}/documents",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept-Language": language},
    )


@pytest.mark.parametrize(
    ("content", "filename", "declared", "code"),
    [
        (b"", "passport.pdf", "application/pdf", "empty_file"),
        (
            b"<!doctype html><html><body>not a passport</body></html>",
            "passport.pdf",
            "application/pdf",
            "unsupported_content_type",
        ),
    ],
)
def test_refusal_message_follows_the_browser_language(client, person, content, filename, declared, code):
    english, russian, kazakh = (
        _upload(client, person["id"], content, filename, declared, language) for language in ("en", "ru", "kk")
    )

    assert {error_code(english), error_code(russian), error_code(kazakh)} == {code}
    texts = [response.get_json()["error"]["message"] for response in (english, russian, kazakh)]
    assert not CYRILLIC.search(texts[0])
    assert CYRILLIC.search(texts[1]) and CYRILLIC.search(texts[2]) and texts[1] != texts[2]
