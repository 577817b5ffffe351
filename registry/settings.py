"""Settings, read once at start-up from ``REGISTRY_*`` variables or a TOML file.

A registry of minors' genetic records must not start half-configured: every
value is validated here, and a bad one stops the process with a message that
names the variable and says what to do.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from registry.holds.retention import RetentionError, parse_schedule
from registry.kinship.policy import PolicyError, load_policy

PREFIX = "REGISTRY_"
DEV_SECRET_MARKER = "dev-insecure-"


class SettingsError(ValueError):
    """A setting is missing or wrong; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    instance_path: str = "instance"
    database_url: str = ""
    storage_url: str = ""
    master_key_file: str = ""
    master_key: str = ""
    secret_key: str = ""
    max_upload_mb: int = 100
    copy_workers: int = 1
    copy_sweep_seconds: int = 60
    session_idle_minutes: int = 15
    session_absolute_hours: int = 12
    emergency_access_minutes: int = 60
    require_mfa: bool = False
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 30
    login_failure_window_minutes: int = 15
    audit_checkpoint_every: int = 1000
    audit_checkpoint_minutes: int = 15
    audit_signing_key_file: str = ""
    worm_selftest: bool = True
    worm_retention_days: int = 3650
    default_locale: str = "en"
    # Times on pages are shown in this zone (an IANA name), whatever the server's own.
    time_zone: str = "Asia/Almaty"
    trusted_proxies: int = 0
    # A request body must have arrived within this many seconds (a slow client holds no worker or lock for longer).
    request_body_seconds: int = 60
    # No access-log event stays unwitnessed (a signed checkpoint outside the database) longer than this.
    audit_witness_seconds: int = 60
    # Production refuses a store that cannot lock objects (WORM) unless an operator accepts it here (logged).
    accept_unlockable_store: bool = False
    # A TOML (or .json) file with the kinship evidence policy (thresholds per relationship kind); empty: the
    # defaults (registry/kinship/policy.py, explained in the README).
    kinship_policy_file: str = ""
    # Genomic results used in court must come from a laboratory with a valid ISO/IEC 17025 accreditation.
    require_accredited_laboratory: bool = False
    # Converter children one server process runs at once (each renders one file in its own limited process).
    converter_children: int = 2
    # Bearer token that opens /metrics (Prometheus); empty: no metrics are served.
    metrics_token: str = ""
    # "text" for people at a terminal; "json" for one JSON object per line (a log collector).
    log_format: str = "text"
    # How long each document kind's files are kept after its newest version: "passport=75,other=25" changes the
    # named kinds ("permanent" never disposes); the defaults are in registry/holds/retention.py.
    retention_years: str = ""
    testing: bool = False

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def retention_schedule(self) -> dict[str, int | None]:
        """Kind -> years its files are kept (None: permanent); validated at start-up."""
        return parse_schedule(self.retention_years, self.worm_retention_days)

    def with_overrides(self, **values: Any) -> Settings:
        return validate(replace(self, **values))


_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}


def _coerce(name: str, raw: Any, target: Any) -> Any:
    if isinstance(target, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _BOOL_TRUE:
            return True
        if text in _BOOL_FALSE:
            return False
        raise SettingsError(f"{PREFIX}{name.upper()} must be true or false, not {raw!r}")
    if isinstance(target, int):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{PREFIX}{name.upper()} must be a whole number, not {raw!r}") from None
    return str(raw)


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from a TOML file (``REGISTRY_CONFIG``), then the environment, then overrides."""
    environ = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, Any] = {}
    config_file = environ.get(f"{PREFIX}CONFIG")
    if config_file:
        try:
            with open(config_file, "rb") as fh:
                values.update(tomllib.load(fh))
        except OSError as exc:
            raise SettingsError(f"{PREFIX}CONFIG names {config_file!r}, which cannot be read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{PREFIX}CONFIG file {config_file!r} is not valid TOML: {exc}") from None
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise SettingsError(f"unknown settings in {config_file}: {', '.join(sorted(unknown))}")
    for name in known:
        key = f"{PREFIX}{name.upper()}"
        if key in environ:
            values[name] = environ[key]
    values.update(overrides)
    coerced = {n: _coerce(n, v, getattr(defaults, n)) for n, v in values.items()}
    return validate(replace(defaults, **coerced))


def _embedded_defaults(s: Settings) -> Settings:
    """Fill the embedded default: SQLite, filesystem objects and a key under the instance folder."""
    inst = Path(s.instance_path).resolve()
    updates: dict[str, Any] = {"instance_path": str(inst)}
    if not s.database_url:
        updates["database_url"] = f"sqlite:///{inst / 'registry.sqlite3'}"
    if not s.storage_url:
        updates["storage_url"] = (inst / "objects").as_uri()
    if not s.master_key_file and not s.master_key:
        updates["master_key_file"] = str(inst / "master-keys.json")
    if not s.audit_signing_key_file:
        updates["audit_signing_key_file"] = str(inst / "audit-signing-key.pem")
    return replace(s, **updates)


def validate(s: Settings) -> Settings:
    if s.env not in ("development", "production"):
        raise SettingsError(f"{PREFIX}ENV must be 'development' or 'production', not {s.env!r}")
    s = _embedded_defaults(s)
    scheme = urlsplit(s.database_url).scheme.split("+")[0]
    if scheme not in ("sqlite", "postgresql"):
        raise SettingsError(f"{PREFIX}DATABASE_URL must be a sqlite:/// or postgresql:// URL, not {s.database_url!r}")
    storage_scheme = urlsplit(s.storage_url).scheme
    if storage_scheme not in ("file", "s3"):
        raise SettingsError(
            f"{PREFIX}STORAGE_URL must be file:///path or s3://bucket?endpoint_url=..., not {s.storage_url!r}"
        )
    if s.max_upload_mb < 1 or s.max_upload_mb > 10_240:
        raise SettingsError(f"{PREFIX}MAX_UPLOAD_MB must be between 1 and 10240, not {s.max_upload_mb}")
    if not 0 <= s.copy_workers <= 32:
        raise SettingsError(
            f"{PREFIX}COPY_WORKERS must be between 0 (copies made by `registry copies make`) and 32, "
            f"not {s.copy_workers}"
        )
    if s.audit_checkpoint_minutes < 0:
        raise SettingsError(
            f"{PREFIX}AUDIT_CHECKPOINT_MINUTES must be 0 (no timed checkpoint) or more, "
            f"not {s.audit_checkpoint_minutes}"
        )
    if s.copy_sweep_seconds < 0:
        raise SettingsError(f"{PREFIX}COPY_SWEEP_SECONDS must be 0 (no sweep) or more, not {s.copy_sweep_seconds}")
    if not 1 <= s.request_body_seconds <= 3600:
        raise SettingsError(f"{PREFIX}REQUEST_BODY_SECONDS must be between 1 and 3600, not {s.request_body_seconds}")
    if not 5 <= s.audit_witness_seconds <= 3600:
        raise SettingsError(f"{PREFIX}AUDIT_WITNESS_SECONDS must be between 5 and 3600, not {s.audit_witness_seconds}")
    if s.kinship_policy_file:
        if not Path(s.kinship_policy_file).is_file():
            raise SettingsError(f"{PREFIX}KINSHIP_POLICY_FILE names {s.kinship_policy_file!r}, which is not a file")
        try:
            load_policy(s.kinship_policy_file)
        except PolicyError as exc:
            raise SettingsError(f"{PREFIX}KINSHIP_POLICY_FILE: {exc}") from None
    try:
        ZoneInfo(s.time_zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise SettingsError(
            f"{PREFIX}TIME_ZONE must name a time zone such as Asia/Almaty, not {s.time_zone!r}"
        ) from None
    if s.log_format not in ("text", "json"):
        raise SettingsError(f"{PREFIX}LOG_FORMAT must be 'text' or 'json', not {s.log_format!r}")
    if s.metrics_token and len(s.metrics_token) < 24:
        raise SettingsError(f"{PREFIX}METRICS_TOKEN must be at least 24 characters (a random token), or empty")
    if s.worm_retention_days < 1:
        raise SettingsError(f"{PREFIX}WORM_RETENTION_DAYS must be at least 1, not {s.worm_retention_days}")
    try:
        parse_schedule(s.retention_years, s.worm_retention_days)
    except RetentionError as exc:
        raise SettingsError(f"{PREFIX}RETENTION_YEARS: {exc}") from None
    if not 1 <= s.converter_children <= 16:
        raise SettingsError(f"{PREFIX}CONVERTER_CHILDREN must be between 1 and 16, not {s.converter_children}")
    for name in (
        "session_idle_minutes",
        "session_absolute_hours",
        "emergency_access_minutes",
        "audit_checkpoint_every",
        "login_max_failures_per_account",
        "login_max_failures_per_ip",
        "login_failure_window_minutes",
    ):
        if getattr(s, name) < 1:
            raise SettingsError(f"{PREFIX}{name.upper()} must be at least 1")
    if s.production:
        if not s.secret_key or s.secret_key.startswith(DEV_SECRET_MARKER) or len(s.secret_key) < 32:
            raise SettingsError(
                f"{PREFIX}SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if scheme == "sqlite":
            raise SettingsError(f"{PREFIX}DATABASE_URL: production needs PostgreSQL, not SQLite")
    elif not s.secret_key:
        s = replace(s, secret_key=_development_secret(Path(s.instance_path)))
    return s


def _development_secret(instance: Path) -> str:
    """A per-installation development secret, kept so sessions survive restarts; refused in production."""
    path = instance / "dev-secret-key"
    if path.is_file():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = DEV_SECRET_MARKER + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value
