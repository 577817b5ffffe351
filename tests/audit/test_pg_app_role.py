"""The application under the PostgreSQL role that config/postgres-app-role.sql grants (README, Deployment).

Each test makes a role of its own, applies the script to its database with psql as the owner
would, and runs the application (and every fixture that creates staff) as that role: a clerk's
journey works through the API, while the role can neither change the access log (refused by
privilege, with the triggers out of the way) nor create, drop or alter anything.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.audit.events import Action
from registry.audit.models import AuditEvent
from registry.db import Base
from tests.conftest import PG_URL
from tests.documents import files
from tests.documents_api.support import upload, uploaded

pytestmark = pytest.mark.skipif(
    not PG_URL,
    reason="the application's role is a PostgreSQL role: PostgreSQL only "
    "(CI's second pass, REGISTRY_TEST_DATABASE_URL)",
)

SCRIPT = Path(__file__).resolve().parents[2] / "config" / "postgres-app-role.sql"
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
WRITE = {"SELECT", "INSERT", "UPDATE", "DELETE"}
# What the role holds where it is not WRITE.
EXCEPTIONS = {
    "audit_events": {"SELECT", "INSERT"},
    "audit_event_persons": {"SELECT", "INSERT"},
    "audit_chain_head": {"SELECT", "INSERT", "UPDATE"},
    "alembic_version": {"SELECT"},
}


@dataclass(frozen=True)
class AppRole:
    name: str
    url: str  # this test's database, reached as the role


def apply_script(owner_url: str, role: str, password: str | None = None) -> subprocess.CompletedProcess:
    """``psql -v app_role=... -f config/postgres-app-role.sql`` as the deployer runs it."""
    psql = shutil.which("psql")
    assert psql, "psql (the PostgreSQL client) is needed: config/postgres-app-role.sql is a psql script"
    url = sa.make_url(owner_url).set(drivername="postgresql").render_as_string(hide_password=False)
    variables = ["-v", f"app_role={role}"] + (["-v", f"app_password={password}"] if password else [])
    return subprocess.run(
        [psql, "-X", "-q", *variables, "-f", str(SCRIPT), url], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def owner(database_url):
    """This test's database as its owner (the role that ran the migrations)."""
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app_role(database_url, owner) -> AppRole:
    name = f"registry_app_{uuid.uuid4().hex[:10]}"
    password = secrets.token_urlsafe(18)
    try:
        result = apply_script(database_url, name, password)
        assert result.returncode == 0, result.stderr
        assert "is ready" in result.stderr  # the script's own check passed (a NOTICE)
        yield AppRole(
            name, sa.make_url(database_url).set(username=name, password=password).render_as_string(hide_password=False)
        )
    finally:
        with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}):
                conn.exec_driver_sql(f'DROP OWNED BY "{name}"')  # its grants here (and on the database)
                conn.exec_driver_sql(f'DROP ROLE "{name}"')


@pytest.fixture
def settings(settings, app_role):
    """The test settings with the database reached as the role: `app`, `staff`, `make_copies`, `cli`
    (and so `create_app`, the chain head, the NDA, accounts and viewing copies) all run under it."""
    return settings.with_overrides(database_url=app_role.url)


@pytest.fixture
def as_role(app_role):
    engine = sa.create_engine(app_role.url)
    yield engine
    engine.dispose()


def refused(engine: sa.Engine, sql: str) -> str:
    """Run ``sql`` in a transaction of its own; it must fail with insufficient_privilege. Returns the message."""
    with engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError) as caught:
            conn.exec_driver_sql(sql)
    assert caught.value.orig.sqlstate == "42501", f"{sql}: {caught.value.orig}"
    return str(caught.value.orig)


def table_privileges(conn, role: str) -> dict[str, set[str]]:
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, p.privilege FROM pg_class c "
            "CROSS JOIN unnest(CAST(:privileges AS text[])) AS p(privilege) "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
            "AND has_table_privilege(:role, c.oid, p.privilege)"
        ),
        {"role": role, "privileges": list(TABLE_PRIVILEGES)},
    )
    held: dict[str, set[str]] = {
        name: set()
        for name in conn.scalars(
            sa.text(
                "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                "AND relkind IN ('r', 'p', 'v', 'm', 'f')"
            )
        )
    }
    for table, privilege in rows:
        held[table].add(privilege)
    return held


def sequence_privileges(conn, role: str) -> dict[str, set[str]]:
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, p.privilege FROM pg_class c "
            "CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS p(privilege) "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S' "
            "AND has_sequence_privilege(:role, c.oid, p.privilege)"
        ),
        {"role": role},
    )
    held: dict[str, set[str]] = {
        name: set()
        for name in conn.scalars(
            sa.text("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'S'")
        )
    }
    for sequence, privilege in rows:
        held[sequence].add(privilege)
    return held


# ---------------------------------------------------------------- the application works under the role


def test_a_clerks_journey_through_the_api_works_under_the_role(
    app_role, runtime, staff, api, make_person, make_copies, cli, tmp_path
):
    with runtime.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT current_user")) == app_role.name  # not the owner by accident
    clerk = staff("clerk")
    client = api(clerk)
    person = make_person(clerk)

    scan = files.simple_pdf(tmp_path / "passport.pdf", pages=1).read_bytes()
    document = uploaded(upload(client, person["id"], scan, "passport.pdf"))
    assert document["versions"][0]["viewing_copy"]["status"] == "pending"
    assert make_copies() == {"ready": 1}  # the copy worker claims the version and records the copy (UPDATE)
    shown = client.get(f"/documents/{document['id']}").get_json()["document"]
    assert shown["versions"][0]["viewing_copy"]["status"] == "ready"
    content = client.get(f"/documents/{document['id']}/content")
    assert content.status_code == 200 and content.data.startswith(b"%PDF")
    original = client.get(f"/documents/{document['id']}/original")
    assert original.status_code == 200 and original.data == scan

    def search(q: str) -> list[str]:
        response = client.get("/persons", query_string={"q": q})
        assert response.status_code == 200, response.get_json()
        return [p["id"] for p in response.get_json()["persons"]]

    assert search("Абдирасулова") == [person["id"]] == search("Abdirasulova")
    # Names replaced: the app deletes the old person_names and name_search_keys rows.
    renamed = client.patch(
        f"/persons/{person['id']}",
        json={
            "revision": person["revision"],
            "names": [{"family_name": "Nurlanova", "given_name": "Aigerim", "script": "latin", "kind": "official"}],
        },
    )
    assert renamed.status_code == 200, renamed.get_json()
    assert search("Nurlanova") == [person["id"]] and search("Abdirasulova") == []

    # The log the role wrote is whole, and the role can read it, verify it and sign a checkpoint.
    with runtime.sessions() as db:
        actions = set(db.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id == clerk.id)))
    assert {
        Action.PERSON_CREATED,
        Action.PERSON_UPDATED,
        Action.PERSON_SEARCHED,
        Action.DOCUMENT_UPLOADED,
        Action.DOCUMENT_CONTENT_READ,
        Action.DOCUMENT_ORIGINAL_READ,
    } <= actions, actions
    assert cli("audit", "checkpoint").exit_code == 0
    verified = cli("audit", "verify")
    assert verified.exit_code == 0 and "OK: the access log is intact." in verified.output, verified.output


def test_registry_init_runs_under_the_role_at_head_and_a_pending_migration_is_refused(app, cli, owner):
    """The image runs `registry init` at every start: with nothing to migrate it passes under the role;
    a migration still to run is the owner's, and the role cannot run it."""
    first = cli("init")
    assert first.exit_code == 0 and "The registry is initialised." in first.output, first.output
    with owner.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0003'")
    with pytest.raises(sa.exc.DBAPIError, match="must be owner of table document_versions"):
        cli("init")


# ---------------------------------------------------------------- and cannot change the log or the schema


def test_the_role_cannot_change_the_log_and_holds_no_more_than_it_needs(
    app_role, app, staff, make_person, as_role, owner
):
    make_person(staff("clerk"))  # events and person links to aim at
    with owner.connect() as conn:
        events = conn.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        tables = table_privileges(conn, app_role.name)
        sequences = sequence_privileges(conn, app_role.name)
        role = conn.execute(
            sa.text(
                "SELECT oid, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication "
                "FROM pg_roles WHERE rolname = :r"
            ),
            {"r": app_role.name},
        ).one()
        owned = conn.scalar(
            sa.text("SELECT count(*) FROM pg_shdepend WHERE refobjid = :oid AND deptype = 'o'"), {"oid": role.oid}
        )
        memberships = conn.scalars(
            sa.text("SELECT roleid::regrole::text FROM pg_auth_members WHERE member = :oid"), {"oid": role.oid}
        ).all()
        schema_and_database = conn.execute(
            sa.text(
                "SELECT has_schema_privilege(:r, 'public', 'USAGE'), has_schema_privilege(:r, 'public', 'CREATE'), "
                "has_database_privilege(:r, current_database(), 'CONNECT'), "
                "has_database_privilege(:r, current_database(), 'CREATE'), "
                "has_database_privilege(:r, current_database(), 'TEMPORARY')"
            ),
            {"r": app_role.name},
        ).one()

    # Exactly: every table of the models, the access log append-only, nothing beyond DML anywhere.
    assert set(tables) == set(Base.metadata.tables) | {"alembic_version"}
    assert tables == {name: EXCEPTIONS.get(name, WRITE) for name in tables}
    assert sequences and all(held == {"USAGE"} for held in sequences.values()), sequences
    assert tuple(schema_and_database) == (True, False, True, False, False)
    assert not any(role[1:]) and owned == 0 and memberships == []

    # Refused by privilege: the message is PostgreSQL's, not the append-only trigger's.
    for table, column in (("audit_events", "reason"), ("audit_event_persons", "person_id")):
        for sql in (f"UPDATE {table} SET {column} = 'x'", f"DELETE FROM {table}", f"TRUNCATE {table} CASCADE"):
            message = refused(as_role, sql)
            assert f"permission denied for table {table}" in message and "append-only" not in message, message
    assert "permission denied" in refused(as_role, "DELETE FROM audit_chain_head")
    assert "permission denied" in refused(as_role, "TRUNCATE persons CASCADE")
    assert "permission denied" in refused(as_role, "SELECT setval('login_attempts_id_seq', 1)")

    # Even with the triggers switched off (by the owner, in the same transaction), the privilege refuses.
    with owner.connect() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        conn.exec_driver_sql(f'SET LOCAL ROLE "{app_role.name}"')
        with pytest.raises(sa.exc.DBAPIError, match="permission denied for table audit_events"):
            conn.exec_driver_sql("UPDATE audit_events SET reason = 'x'")
        conn.rollback()

    # No DDL: nothing created, dropped or altered, the triggers least of all.
    ddl = {
        "CREATE TABLE shadow (id int)": "permission denied for schema public",
        "CREATE TEMP TABLE audit_events (seq bigint)": "permission denied to create temporary tables",
        "CREATE SCHEMA shadow": "permission denied for database",
        "DROP TABLE persons": "must be owner of table persons",
        "DROP TABLE audit_events CASCADE": "must be owner of table audit_events",
        "ALTER TABLE persons ADD COLUMN shadow int": "must be owner of table persons",
        f'ALTER TABLE audit_events OWNER TO "{app_role.name}"': "must be owner of table audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete": "must be owner of table audit_events",
        "ALTER TABLE audit_event_persons DISABLE TRIGGER USER": "must be owner of table audit_event_persons",
        "DROP TRIGGER audit_events_no_truncate ON audit_events": "must be owner of",
        "CREATE OR REPLACE FUNCTION registry_refuse_audit_change() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NULL; END $$": "permission denied for schema public",
        "ALTER FUNCTION registry_refuse_audit_change() RENAME TO harmless": "must be owner of function",
        "SET session_replication_role = replica": "permission denied to set parameter",
    }
    for sql, expected in ddl.items():
        message = refused(as_role, sql)
        assert expected in message, f"{sql}: {message}"

    with owner.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events
        triggers = conn.execute(
            sa.text(
                "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger t "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE p.proname = 'registry_refuse_audit_change' ORDER BY 1, 2"
            )
        ).all()
    assert [tuple(t) for t in triggers] == [
        ("audit_event_persons", "audit_event_persons_no_truncate", "O"),
        ("audit_event_persons", "audit_event_persons_no_update_delete", "O"),
        ("audit_events", "audit_events_no_truncate", "O"),
        ("audit_events", "audit_events_no_update_delete", "O"),
    ]


# ---------------------------------------------------------------- the script, run again after a migration


def test_a_table_a_later_migration_adds_is_covered_when_the_script_runs_again(app_role, database_url, owner, as_role):
    with owner.begin() as conn:  # what a later migration might add: an ordinary table and an append-only one
        conn.exec_driver_sql("CREATE TABLE later_notes (id serial PRIMARY KEY, note text NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE later_log (seq bigint PRIMARY KEY, what text NOT NULL)")
        conn.exec_driver_sql(
            "CREATE TRIGGER later_log_no_update_delete BEFORE UPDATE OR DELETE ON later_log "
            "FOR EACH ROW EXECUTE FUNCTION registry_refuse_audit_change()"
        )
    # No default privileges: until the script runs again, a new table is refused, never born writable.
    assert "permission denied for table later_notes" in refused(as_role, "INSERT INTO later_notes (note) VALUES ('x')")
    assert "permission denied for table later_log" in refused(as_role, "INSERT INTO later_log VALUES (1, 'x')")

    again = apply_script(database_url, app_role.name)  # idempotent; no password: the role keeps its own
    assert again.returncode == 0, again.stderr

    with owner.connect() as conn:
        tables = table_privileges(conn, app_role.name)
        sequences = sequence_privileges(conn, app_role.name)
    assert tables["later_notes"] == WRITE and sequences["later_notes_id_seq"] == {"USAGE"}
    assert tables["later_log"] == {"SELECT", "INSERT"}  # found by its append-only trigger, not by name
    assert tables == {name: EXCEPTIONS.get(name, WRITE) for name in tables} | {"later_log": {"SELECT", "INSERT"}}
    with as_role.begin() as conn:
        conn.exec_driver_sql("INSERT INTO later_notes (note) VALUES ('x')")
        conn.exec_driver_sql("UPDATE later_notes SET note = 'y'")
        conn.exec_driver_sql("INSERT INTO later_log VALUES (1, 'x')")
    assert "permission denied for table later_log" in refused(as_role, "UPDATE later_log SET what = 'y'")


@pytest.mark.parametrize("grant", ["pg_write_all_data", "the owner"])
def test_the_script_refuses_a_role_that_could_rewrite_the_log_and_changes_nothing(app_role, database_url, owner, grant):
    with owner.connect() as conn:
        parent = (
            grant
            if grant == "pg_write_all_data"
            else conn.scalar(
                sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'audit_events'")
            )
        )
        conn.exec_driver_sql(f'GRANT "{parent}" TO "{app_role.name}"')
        conn.exec_driver_sql(f'REVOKE SELECT ON persons FROM "{app_role.name}"')  # to see that nothing commits
        conn.commit()

    result = apply_script(database_url, app_role.name)

    assert result.returncode != 0
    assert "nothing was changed" in result.stderr and "can UPDATE or DELETE the append-only" in result.stderr
    with owner.connect() as conn:  # rolled back: the SELECT taken away above was not granted again
        granted = conn.scalars(
            sa.text(
                "SELECT a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
                "WHERE c.oid = 'public.persons'::regclass AND a.grantee = CAST(:r AS regrole)"
            ),
            {"r": app_role.name},
        )
        assert set(granted) == {"INSERT", "UPDATE", "DELETE"}
