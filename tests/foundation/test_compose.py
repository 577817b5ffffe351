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
    example = {line.split("=", 1)[0] for line in (ROOT / "config/compose.env.example").read_text().splitlines()
               if line and not line.startswith("#")}
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


def test_app_and_migrate_share_keys_storage_and_settings():
    app, migrate = SERVICES["app"], SERVICES["migrate"]
    assert app["volumes"] == migrate["volumes"]
    shared = {k: v for k, v in app["environment"].items() if k != "REGISTRY_DATABASE_URL"}
    assert shared.items() <= migrate["environment"].items()


def test_every_dependency_names_a_service():
    for name, service in SERVICES.items():
        assert set(service.get("depends_on", {})) <= set(SERVICES), name
