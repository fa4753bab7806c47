-- roles.sql — the read-only roles (DOMAIN.md promise 7). Run as the
-- PostgreSQL superuser, in each zizhu database, after or before
-- `zizhu migrate` (030_settlement.sql grants too when the role exists):
--
--   psql -v ON_ERROR_STOP=1 -d zizhu -f deploy/local/roles.sql
--
-- zizhu_dashboard may log in and read the views of schema zizhu_dash only:
-- pseudonyms and masked numbers, never an ID number or a name. It has no
-- USAGE on schema zizhu, so every table there is out of its reach.
--
-- zizhu_auditor may log in and read every table and view of this database
-- (ID numbers included: it checks the decisions), and write nothing here:
-- no INSERT/UPDATE/DELETE, no CREATE on any schema, no TEMP, no advisory
-- lock. It has CREATEDB for one purpose: `zizhu replay` makes a fresh
-- database of its own and replays the input topics into it, and as that
-- database's owner it runs the migrations and takes the workers' advisory
-- locks there (sql/040 gives them to the owner), apart from production.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zizhu_dashboard') THEN
        CREATE ROLE zizhu_dashboard LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOINHERIT;
    END IF;
END
$$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zizhu_auditor') THEN
        CREATE ROLE zizhu_auditor LOGIN NOSUPERUSER CREATEDB NOCREATEROLE
            NOINHERIT;
    END IF;
END
$$;
-- No default_transaction_read_only for it (unlike the dashboard): the
-- replay's CREATE DATABASE runs on a connection to this database and a
-- read-only transaction refuses it. Such a default is one the role could
-- turn off anyway: what keeps it from writing is the privileges below.
ALTER ROLE zizhu_dashboard SET default_transaction_read_only = on;
-- A dashboard query or a forgotten session cannot hold locks or a
-- connection for long.
ALTER ROLE zizhu_dashboard SET statement_timeout = '30s';
ALTER ROLE zizhu_dashboard SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE zizhu_dashboard SET idle_session_timeout = '10min';
REVOKE ALL ON SCHEMA public FROM zizhu_dashboard;
-- No CONNECT to the cluster's other databases: every database lets PUBLIC
-- connect by default, and PostgreSQL has no per-role refusal short of
-- pg_hba.conf, so the maintenance databases are closed to PUBLIC and
-- opened to the owner of this one (the workers' role) only. The replay
-- databases zizhu creates are closed when they are created (ops/replay.c);
-- the dashboard keeps CONNECT on this database.
DO $$
DECLARE
    owner name := (SELECT pg_get_userbyid(datdba) FROM pg_database
                   WHERE datname = current_database());
    db name;
BEGIN
    FOREACH db IN ARRAY ARRAY['postgres', 'template1'] LOOP
        IF db <> current_database() THEN
            EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', db);
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', db, owner);
        END IF;
    END LOOP;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO zizhu_dashboard, zizhu_auditor',
                   current_database());
END
$$;
-- default_transaction_read_only is a default the role may turn off: what
-- keeps it from creating anything is that it has no CREATE on any schema
-- and no TEMPORARY on the database (sql/040 does the same as the owner).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- The coordination locks of the workers (sql/040_coordination_privileges.sql
-- explains why): only the database's owner, the workers' role, may take an
-- advisory lock in this database. Revoking needs the superuser, who owns
-- the functions.
DO $$
DECLARE
    owner name := (SELECT pg_get_userbyid(datdba) FROM pg_database
                   WHERE datname = current_database());
    f regprocedure;
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC',
                   current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I',
                   current_database(), owner);
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'pg_catalog'::regnamespace
               AND p.proname ~ '^pg_(try_)?advisory_(xact_)?lock'
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, owner);
    END LOOP;
END
$$;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'zizhu_dash') THEN
        EXECUTE 'GRANT USAGE ON SCHEMA zizhu_dash TO zizhu_dashboard';
        EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA zizhu_dash TO zizhu_dashboard';
    END IF;
END
$$;
-- The auditor reads every table and view the owner has made or will make
-- (default privileges: the migrations that come later need no grant of
-- their own), SELECT only.
DO $$
DECLARE
    owner name := (SELECT pg_get_userbyid(datdba) FROM pg_database
                   WHERE datname = current_database());
    s name;
BEGIN
    FOR s IN SELECT nspname FROM pg_namespace
             WHERE nspname IN ('zizhu', 'zizhu_dash') LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO zizhu_auditor', s);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO zizhu_auditor', s);
    END LOOP;
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT USAGE ON SCHEMAS TO zizhu_auditor', owner);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT SELECT ON TABLES TO zizhu_auditor', owner);
END
$$;
