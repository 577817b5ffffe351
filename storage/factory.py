"""Build a store from the one storage URL setting.

``file:///var/lib/registry/objects`` (or relative ``file:instance/objects``) or
``s3://bucket?endpoint_url=http://127.0.0.1:9000&region=us-east-1&path_style=true``
with optional ``access_key`` and ``secret_key`` (else boto3's usual chain:
environment, shared files, instance roles). Query values are percent-decoded but
``+`` stays a plus, because AWS secret keys contain it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from storage.base import ObjectStore
from storage.filesystem import FilesystemStore
from storage.s3 import S3Store

_S3_OPTIONS = ("endpoint_url", "region", "path_style", "access_key", "secret_key")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_EXAMPLES = "file:///var/lib/registry/objects or s3://bucket?endpoint_url=http://host:9000"


def open_store(url: str) -> ObjectStore:
    """Return the store a storage URL names; ValueError says what is wrong with it."""
    scheme = url.partition(":")[0].lower() if ":" in url else ""
    if scheme == "file":
        return FilesystemStore(_file_path(url))
    if scheme == "s3":
        return _s3_store(url)
    raise ValueError(f"storage URL must start with file: or s3: (for example {_EXAMPLES})")


def _file_path(url: str) -> str:
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != "localhost":
        raise ValueError(
            f"file storage URL names host {parts.netloc!r}; write file:///absolute/path "
            "(three slashes) or file:relative/path"
        )
    if parts.query or parts.fragment:
        raise ValueError("file storage URL takes no '?' options or '#' fragment")
    path = unquote(parts.path)
    if not path:
        raise ValueError("file storage URL has no folder; write file:///absolute/path")
    return path


def _s3_store(url: str) -> S3Store:
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise ValueError("put S3 credentials in access_key/secret_key options, not before the bucket")
    bucket = parts.netloc
    if not _BUCKET_NAME.fullmatch(bucket):
        raise ValueError(
            f"S3 bucket name {bucket!r} is not valid: 3-63 lower-case letters, digits, '.' or '-' "
            "(write s3://bucket?options)"
        )
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("S3 storage URL takes only a bucket, no path or '#' fragment (s3://bucket?options)")
    options = _query_options(parts.query)
    if ("access_key" in options) != ("secret_key" in options):
        raise ValueError("S3 storage URL must give both access_key and secret_key, or neither")
    endpoint = options.get("endpoint_url")
    if endpoint is not None:
        endpoint_parts = urlsplit(endpoint)
        if endpoint_parts.scheme not in ("http", "https") or not endpoint_parts.netloc:
            raise ValueError("S3 endpoint_url must look like http://host:port or https://host")
    path_style = options.get("path_style", "false").lower()
    if path_style not in _BOOLEANS:
        raise ValueError("S3 path_style must be true or false")
    return S3Store(
        bucket,
        endpoint_url=endpoint,
        region=options.get("region"),
        path_style=_BOOLEANS[path_style],
        access_key=options.get("access_key"),
        secret_key=options.get("secret_key"),
    )


def _query_options(query: str) -> dict[str, str]:
    """Parse ``a=b&c=d`` strictly: unknown, repeated or empty options are mistakes."""
    options: dict[str, str] = {}
    for item in filter(None, query.split("&")):
        name, equals, raw_value = item.partition("=")
        if name not in _S3_OPTIONS:
            raise ValueError(f"unknown S3 storage URL option {name!r}; known options: {', '.join(_S3_OPTIONS)}")
        if name in options:
            raise ValueError(f"S3 storage URL option {name!r} is given twice")
        value = unquote(raw_value)
        if not equals or not value:
            raise ValueError(f"S3 storage URL option {name!r} has no value")
        options[name] = value
    return options
