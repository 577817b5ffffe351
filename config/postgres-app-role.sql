-- The PostgreSQL role the registry runs under: what the application does, and nothing it could
-- use to rewrite the access log or change the schema.
--
-- Run it as the database owner (the role `registry init` migrated with), after `registry init` and
-- again after every upgrade. It is idempotent: it takes back everything the role holds and grants
-- it afresh, so a table added by a later migration is covered by the next run.
--
--   psql "postgresql://registry@db:5432/registry" -v app_role=registry_app \
--        -v app_password="$REGISTRY_APP_DB_PASSWORD" -f config/postgres-app-role.sql
--
-- Variables: app_role (required), created with LOGIN when it does not exist yet; app_password
-- (optional) sets its password (leave it out and type `\password registry_app` in psql to keep the
-- password out of the server log); schema (optional, default public): where the migrations created
-- the tables (the role's search_path must reach it; the default one reaches public). Then point
-- REGISTRY_DATABASE_URL at app_role.
--
-- What the application does, so what the role gets (checked against every statement the test
-- suite issues, and proven under this role by tests/audit/test_pg_app_role.py):
--   * every table: SELECT, INSERT, UPDATE, DELETE. It updates persons, document versions (viewing
--     copies), sessions, tokens, relationships, role_change_requests (the decision) and
--     account_setup_links (used up, replaced) ...; it deletes rows of person_names and
--     name_search_keys (names replaced), role_grants, case_members, court_ruling_relationships,
--     and form_drafts (what was typed when a session ended: deleted when shown again or expired).
--     nda_translations (an undertaking's other languages) is written once at publication.
--   * audit_events, audit_event_persons, and any table that carries the append-only trigger
--     (registry_refuse_audit_change, migration 0002): SELECT, INSERT only.
--   * audit_chain_head: SELECT, INSERT, UPDATE, no DELETE. Every event moves the head (UPDATE) and
--     the writer first locks it with SELECT ... FOR UPDATE, which PostgreSQL allows only to a role
--     with UPDATE; INSERT creates it when missing.
--   * alembic_version: SELECT only. The image runs `registry init` at every start
--     (config/Dockerfile): with nothing to migrate it only reads the version; a pending migration
--     then fails under this role, as it must: migrations are the owner's.
--   * sequences (serial ids): USAGE (nextval), not UPDATE (setval).
--   * the schema: USAGE; the database: CONNECT. No CREATE anywhere, no temporary tables, no
--     TRUNCATE, REFERENCES or TRIGGER on any table, no ownership, no membership in an owner.
--   Foreign-key checks and ON DELETE CASCADE run with the table owner's rights and need no grant.
--
-- Why GRANT ... ON ALL TABLES and then REVOKE on the access log, rather than a list of tables:
-- the exceptions are few and marked in the database itself (the append-only trigger), the ordinary
-- tables are many and each migration may add one. A list has to be edited with every migration,
-- and a table forgotten there breaks that feature in production; here a new ordinary table is
-- covered by the next run and a new append-only table (one that uses the trigger) is restricted
-- without editing this file. The final check refuses to commit if any append-only table is
-- writable by the role (through a grant, PUBLIC, pg_write_all_data or an owner's membership).
--
-- Why no ALTER DEFAULT PRIVILEGES: it would hand SELECT, INSERT, UPDATE, DELETE on every future
-- table to the role at the moment a migration creates it, before the migration's own trigger has
-- a say and before anyone re-runs this file: a new append-only table would be born writable (fail
-- open), the very thing this role exists to prevent. It also applies only to tables created by the
-- role named in it, so a migration run by another role would silently escape it. Without it a new
-- table is refused to the application ("permission denied for table ...") until this file runs
-- again: loud, safe, one command to fix. Run it in the same step as `registry init` when upgrading.

\set ON_ERROR_STOP on

\if :{?app_role}
\else
DO $$ BEGIN RAISE EXCEPTION 'postgres-app-role.sql: name the application role: psql -v app_role=NAME ...'; END $$;
\endif
\if :{?schema}
\else
\set schema public
\endif

SELECT to_regclass(format('%I.audit_events', :'schema')) IS NULL AS not_migrated,
       current_database() AS dbname \gset
\if :not_migrated
DO $$ BEGIN RAISE EXCEPTION 'postgres-app-role.sql: no access log in this schema; run `registry init` (the migrations) first'; END $$;
\endif

BEGIN;

-- The role itself: created if missing; its password set only when given.
SELECT format('CREATE ROLE %I LOGIN', :'app_role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_role') \gexec
\if :{?app_password}
ALTER ROLE :"app_role" PASSWORD :'app_password';
\endif

-- Start from nothing: whatever the role was given before (by hand, by an earlier version of this file).
REVOKE ALL ON DATABASE :"dbname" FROM :"app_role";
REVOKE ALL ON SCHEMA :"schema" FROM :"app_role";
REVOKE ALL ON ALL TABLES IN SCHEMA :"schema" FROM :"app_role";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA :"schema" FROM :"app_role";

-- No one but the owner creates objects here: the PostgreSQL 15+ default, stated for older servers;
-- temporary tables neither (the application makes none, and they shadow tables of the same name).
REVOKE CREATE ON SCHEMA :"schema" FROM PUBLIC;
REVOKE TEMPORARY ON DATABASE :"dbname" FROM PUBLIC;

GRANT CONNECT ON DATABASE :"dbname" TO :"app_role";
GRANT USAGE ON SCHEMA :"schema" TO :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA :"schema" TO :"app_role";
GRANT USAGE ON ALL SEQUENCES IN SCHEMA :"schema" TO :"app_role";

-- The access log is append-only: by name, and every table the append-only trigger guards.
REVOKE UPDATE, DELETE ON :"schema".audit_events, :"schema".audit_event_persons FROM :"app_role";
SELECT DISTINCT format('REVOKE UPDATE, DELETE ON %s FROM %I', t.tgrelid::regclass, :'app_role')
  FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE p.proname = 'registry_refuse_audit_change'
   AND p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = :'schema') \gexec
-- The chain head moves with every event (UPDATE, and FOR UPDATE to lock it) but is never deleted.
REVOKE DELETE ON :"schema".audit_chain_head FROM :"app_role";
-- Migrations are the owner's; `registry init` under this role only reads the version.
REVOKE INSERT, UPDATE, DELETE ON :"schema".alembic_version FROM :"app_role";

-- Check the outcome, whatever route a privilege could come by; any problem rolls everything back.
SELECT set_config('registry.app_role', :'app_role', true) AS _app_role,
       set_config('registry.app_schema', :'schema', true) AS _app_schema \gset
DO $verify$
DECLARE
    app      text := current_setting('registry.app_role');
    nsp      oid := (SELECT oid FROM pg_namespace WHERE nspname = current_setting('registry.app_schema'));
    problems text[] := '{}';
    extra    text[] := '{}';  -- tables with TRUNCATE, REFERENCES or TRIGGER
    writable text[] := '{}';  -- append-only tables the role can UPDATE or DELETE
    missing  text[] := '{}';  -- tables the grants did not reach
    r        record;
BEGIN
    IF (SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb OR rolreplication
          FROM pg_roles WHERE rolname = app) THEN
        problems := problems || format('%I has SUPERUSER, BYPASSRLS, CREATEROLE, CREATEDB or REPLICATION', app);
    END IF;
    -- An owner (or a role it can SET ROLE to that owns something here) can drop the triggers.
    FOR r IN SELECT DISTINCT o.owner FROM (
                 SELECT relowner FROM pg_class WHERE relnamespace = nsp
                 UNION SELECT proowner FROM pg_proc WHERE pronamespace = nsp
                 UNION SELECT nspowner FROM pg_namespace WHERE oid = nsp
                 UNION SELECT datdba FROM pg_database WHERE datname = current_database()) AS o(owner)
              WHERE pg_has_role(app, o.owner, 'MEMBER') LOOP
        problems := problems || format('%I is, or is a member of, %I, which owns objects here', app,
                                       pg_get_userbyid(r.owner));
    END LOOP;
    IF has_schema_privilege(app, nsp, 'CREATE') OR has_database_privilege(app, current_database(), 'CREATE')
       OR has_database_privilege(app, current_database(), 'TEMPORARY') THEN
        problems := problems || format('%I can create objects (schema CREATE, database CREATE or TEMPORARY)', app);
    END IF;
    FOR r IN SELECT c.oid::regclass AS tbl, c.relname,
                    c.relname IN ('audit_events', 'audit_event_persons') OR EXISTS (
                        SELECT FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                         WHERE t.tgrelid = c.oid AND p.proname = 'registry_refuse_audit_change') AS append_only
               FROM pg_class c WHERE c.relnamespace = nsp AND c.relkind IN ('r', 'p', 'v', 'm', 'f') LOOP
        IF has_table_privilege(app, r.tbl, 'TRUNCATE') OR has_table_privilege(app, r.tbl, 'REFERENCES')
           OR has_table_privilege(app, r.tbl, 'TRIGGER') THEN
            extra := extra || r.tbl::text;
        END IF;
        IF r.append_only AND (has_table_privilege(app, r.tbl, 'UPDATE') OR has_table_privilege(app, r.tbl, 'DELETE')) THEN
            writable := writable || r.tbl::text;
        END IF;
        IF r.relname <> 'alembic_version' AND NOT (has_table_privilege(app, r.tbl, 'SELECT')
                                                   AND has_table_privilege(app, r.tbl, 'INSERT')) THEN
            missing := missing || r.tbl::text;
        END IF;
    END LOOP;
    IF cardinality(writable) > 0 THEN
        problems := problems || format('%I can UPDATE or DELETE the append-only %s', app, array_to_string(writable, ', '));
    END IF;
    IF cardinality(extra) > 0 THEN
        problems := problems || format('%I has TRUNCATE, REFERENCES or TRIGGER on %s', app, array_to_string(extra, ', '));
    END IF;
    IF cardinality(missing) > 0 THEN
        problems := problems || format('%I cannot SELECT and INSERT on %s (run this file as their owner)', app,
                                       array_to_string(missing, ', '));
    END IF;
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION 'postgres-app-role.sql: nothing was changed: %', array_to_string(problems, '; ');
    END IF;
    RAISE NOTICE 'role % is ready: append-only access log, no DDL, no TRUNCATE', app;
END
$verify$;

COMMIT;
