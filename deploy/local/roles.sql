-- roles.sql — the read-only dashboard role (DOMAIN.md promise 7). Run as the
-- PostgreSQL superuser, in each zizhu database, after or before
-- `zizhu migrate` (030_settlement.sql grants too when the role exists):
--
--   psql -v ON_ERROR_STOP=1 -d zizhu -f deploy/local/roles.sql
--
-- zizhu_dashboard may log in and read the views of schema zizhu_dash only:
-- pseudonyms and masked numbers, never an ID number or a name. It has no
-- USAGE on schema zizhu, so every table there is out of its reach.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zizhu_dashboard') THEN
        CREATE ROLE zizhu_dashboard LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOINHERIT;
    END IF;
END
$$;
ALTER ROLE zizhu_dashboard SET default_transaction_read_only = on;
REVOKE ALL ON SCHEMA public FROM zizhu_dashboard;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'zizhu_dash') THEN
        EXECUTE 'GRANT USAGE ON SCHEMA zizhu_dash TO zizhu_dashboard';
        EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA zizhu_dash TO zizhu_dashboard';
    END IF;
END
$$;
