"""Every error code a client can receive is in the OpenAPI document: API clients branch on it."""

from __future__ import annotations

import re
from pathlib import Path

from registry import errors
from registry.api.openapi import ERROR_SCHEMA
from registry.documents.inspection import HTTP_STATUS
from registry.web.errors import HTTP_CODES

SOURCES = Path(__file__).resolve().parents[2] / "registry"
DOCUMENTED = set(ERROR_SCHEMA["properties"]["error"]["properties"]["code"]["enum"])


def _codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in SOURCES.rglob("*.py"):
        text = path.read_text()
        found.update(re.findall(r'Refused\(\s*"([a-z_]+)"', text))
        found.update(re.findall(r'error_response\(\s*\d+,\s*"([a-z_]+)"', text))
    return found


def test_every_error_code_is_documented():
    classes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.RegistryError) and cls.code != "error"
    }
    emitted = classes | set(HTTP_STATUS) | set(HTTP_CODES.values()) | _codes_in_source()
    assert emitted - DOCUMENTED == set()
    assert len(emitted) > 20  # the scan found the codes, not nothing
