-- 040_coordination_privileges.sql — coordination that no other role can
-- stall (issue 14, item 1).
--
-- The settlement worker, the relay and `zizhu-feed --snapshot` each hold a
-- session advisory lock, and the subsidy worker takes transaction advisory
-- locks per person and household. pg_advisory_lock and its kin are
-- executable by PUBLIC and work in read-only sessions: the dashboard role
-- could take any of those keys and stall the pipeline.
--
-- Choice: revoke the lock functions rather than replace them by row locks.
-- The session locks are held for as long as a worker runs; a row lock
-- (SELECT ... FOR UPDATE) held that long needs a transaction open as long,
-- which pins the xmin horizon and stops vacuum on every table (the
-- decision table lives on HOT updates, 032). Function privileges are
-- per database, so revoking EXECUTE from PUBLIC here and granting it to
-- the database's owner (the role the workers run as, which runs the
-- migrations) leaves every other role without any advisory lock in this
-- database, where the workers' keys live.
--
-- The functions belong to the bootstrap superuser, so only a superuser can
-- revoke them. Run as one, this migration does it; run as the workers'
-- role (a database owner, as on the dev stack), it says so and
-- deploy/local/roles.sql, which deployment runs as the superuser, does the
-- same. Everything else below the owner may do itself.
DO $$
DECLARE
    owner name := (SELECT pg_get_userbyid(datdba) FROM pg_database
                   WHERE datname = current_database());
    f regprocedure;
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
                 WHERE p.pronamespace = 'pg_catalog'::regnamespace
                   AND p.proname ~ '^pg_(try_)?advisory_(xact_)?lock'
        LOOP
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, owner);
        END LOOP;
    ELSE
        RAISE NOTICE 'advisory lock functions left to deploy/local/roles.sql (needs a superuser)';
    END IF;
    -- Nothing to create for other roles: no temporary tables, nothing in
    -- schema public (PostgreSQL 15 already keeps CREATE there from PUBLIC).
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC',
                   current_database());
    -- the settlement's delta table is a temporary one: the owner and
    -- the role migrating (the workers' role) keep TEMPORARY
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I, %I',
                   current_database(), owner, current_user);
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
END
$$;
