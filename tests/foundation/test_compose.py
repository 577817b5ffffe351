"""docker-compose.yml cannot be started here (no container engine): check what can go wrong on paper."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_every_variable_the_file_demands_is_in_the_example_env():
    demanded = set(re.findall(r"\$\{(\w+)(?::\?[^}]*)?\}", (ROOT / "docker-compose.yml").read_text()))
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / "config/compose.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert demanded <= example, demanded - example


def test_the_app_runs_as_the_restricted_role_after_the_owner_migrated():
    app, migrate = SERVICES["app"], SERVICES["migrate"]
    assert "//registry_app:" in app["environment"]["REGISTRY_DATABASE_URL"]
    assert "//registry:" in migrate["environment"]["REGISTRY_DATABASE_URL"]  # the owner the db image creates
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    script = " ".join(migrate["command"])
    assert "registry init" in script and "config/postgres-app-role.sql" in script
    assert (ROOT / "config/postgres-app-role.sql").is_file()
    assert "registry init" not in " ".join(app["command"])  # migrations are the owner's, not the app's


def test_app_copier_and_migrate_share_keys_storage_and_settings():
    app, migrate, copier = SERVICES["app"], SERVICES["migrate"], SERVICES["copier"]
    assert app["volumes"] == migrate["volumes"] == copier["volumes"]
    own = {"REGISTRY_DATABASE_URL", "REGISTRY_COPY_WORKERS", "REGISTRY_CONVERTER_CHILDREN"}
    shared = {k: v for k, v in app["environment"].items() if k not in own}
    assert shared.items() <= migrate["environment"].items() and shared.items() <= copier["environment"].items()
    assert copier["environment"]["REGISTRY_DATABASE_URL"] == app["environment"]["REGISTRY_DATABASE_URL"]


def test_replicated_app_containers_leave_the_copies_to_the_copier_and_share_no_work_folder():
    """Two app containers behind the proxy; one that starts clears leftover uploads in its own folder only."""
    app, copier = SERVICES["app"], SERVICES["copier"]
    assert int(str(app["deploy"]["replicas"]).split("-")[-1].rstrip("}")) >= 2
    assert app["environment"]["REGISTRY_COPY_WORKERS"] == "0"
    assert copier["command"] == ["registry", "copies", "make", "--follow"]
    work = [v for v in app["volumes"] if v.endswith("/var/lib/registry/uploads")]
    assert work == ["/var/lib/registry/uploads"]  # anonymous: one per container
    assert "app-work" not in COMPOSE.get("volumes", {})


def test_every_dependency_names_a_service():
    for name, service in SERVICES.items():
        assert set(service.get("depends_on", {})) <= set(SERVICES), name


NGINX = (ROOT / "config/nginx.conf").read_text()


def _nginx(directive: str) -> list[str]:
    return re.findall(rf"^\s*{directive}\s+([^;{{]+);", NGINX, re.MULTILINE)


def test_the_only_way_in_is_the_buffering_proxy():
    """A slow client must meet nginx, never a gunicorn sync worker (which would hold it, and its transaction)."""
    proxy, app = SERVICES["proxy"], SERVICES["app"]
    assert proxy["image"].startswith("nginxinc/nginx-unprivileged:") and not proxy["image"].endswith(":latest")
    assert "./config/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["ports"] and proxy["depends_on"]["app"]["condition"] == "service_healthy"
    published = [name for name, service in SERVICES.items() if service.get("ports")]
    assert published == ["proxy"]
    assert _nginx("proxy_pass") == ["http://registry"] and _nginx("server") == ["app:8000"]
    assert app["expose"] == ["8000"]


def test_the_proxy_receives_whole_bodies_within_the_apps_limits():
    assert _nginx("proxy_request_buffering") == ["on"]
    assert _nginx("client_body_timeout") and _nginx("client_header_timeout")
    max_upload_mb = int(SERVICES["app"]["environment"]["REGISTRY_MAX_UPLOAD_MB"])
    assert _nginx("client_max_body_size") == [f"{max_upload_mb + 1}m"]  # the app's MAX_CONTENT_LENGTH
    gunicorn_timeout = int(
        re.search(r"^timeout = (\d+)", (ROOT / "config/gunicorn.conf.py").read_text(), re.MULTILINE).group(1)
    )
    assert _nginx("proxy_read_timeout") == [f"{gunicorn_timeout}s"]  # an upload is answered after inspection
    assert _nginx("proxy_max_temp_file_size") == ["0"]  # document contents never land on the proxy's disk


def test_the_app_trusts_exactly_the_one_proxy_and_it_replaces_the_client_address():
    assert SERVICES["app"]["environment"]["REGISTRY_TRUSTED_PROXIES"] == "1"
    headers = dict(value.split(None, 1) for value in _nginx("proxy_set_header"))
    assert headers["X-Forwarded-For"] == "$remote_addr"  # not appended to: a client cannot add a hop of its own
    assert headers["X-Forwarded-Proto"] == "$scheme" and headers["X-Forwarded-Host"] == "$host"
    assert _nginx("ssl_certificate") == ["/etc/nginx/tls/fullchain.pem"]
