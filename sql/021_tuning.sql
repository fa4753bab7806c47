-- 021_tuning.sql — keep the planner's statistics of the subsidy worker's
-- tables current while the worker fills them.
--
-- The worker looks facts and decisions up by person for a batch of a few
-- hundred persons (person_id = ANY($1)). Without statistics on person_id the
-- planner assumes a few hundred equalities match most of the table and picks
-- a (parallel) sequential scan; the rate then falls as the tables grow. The
-- default analyze trigger (10 % of the table changed) fires ever later on
-- tables that only grow, so analyse after a small fixed number of changes
-- instead. Insert-only tables are also vacuumed on inserts (PostgreSQL 13+)
-- so index-only scans and the visibility map keep up.

ALTER TABLE zizhu.identity_fact SET (
    autovacuum_analyze_scale_factor = 0.01,
    autovacuum_analyze_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0.05);
ALTER TABLE zizhu.enrollment_fact SET (
    autovacuum_analyze_scale_factor = 0.01,
    autovacuum_analyze_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0.05);
ALTER TABLE zizhu.payment_fact SET (
    autovacuum_analyze_scale_factor = 0.01,
    autovacuum_analyze_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0.05);
ALTER TABLE zizhu.decision SET (
    autovacuum_analyze_scale_factor = 0.01,
    autovacuum_analyze_threshold = 5000,
    autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE zizhu.decision_history SET (
    autovacuum_analyze_scale_factor = 0.01,
    autovacuum_analyze_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0.05);
