-- 050_dashboard_times.sql — the dashboard views give times as timestamptz
-- (issue 16, item 5).
--
-- zizhu_dash.settlement.closed_at and zizhu_dash.backlog.decided_at were
-- bigint milliseconds since the epoch (the business times of the source
-- events, as stored): every dashboard had to convert them, and Grafana,
-- Metabase or Superset take a bigint for a number, not a time. They are now
-- timestamptz (the same instants; shown in the session's TimeZone, e.g.
-- SET TIME ZONE 'Asia/Shanghai'). For consumers written against the old
-- views the milliseconds stay, renamed closed_at_ms and decided_at_ms, as
-- the last column of each view: a query that read the number changes one
-- column name. Nothing else changes; the tables keep their bigint columns
-- (the workers and replays compare them byte for byte).
--
-- A view's column cannot change type in place (CREATE OR REPLACE VIEW
-- refuses), so the two views, and backlog_summary, which reads backlog,
-- are dropped and created again in this one transaction.
DROP VIEW zizhu_dash.backlog_summary;
DROP VIEW zizhu_dash.backlog;
DROP VIEW zizhu_dash.settlement;

CREATE VIEW zizhu_dash.settlement AS
SELECT a.policy_name, a.period, p.jurisdiction,
       to_timestamp(p.closed_at / 1000.0) AS closed_at,
       a.payer, a.fund, a.region, a.kind, a.persons, a.fen, a.allocation_id,
       p.closed_at AS closed_at_ms
  FROM zizhu.settle_allocation a
  JOIN zizhu.settle_period p USING (policy_name, period);

CREATE VIEW zizhu_dash.backlog AS
SELECT d.policy_name, d.year, pp.pseudonym, pp.masked_id, d.recon_status,
       d.recon_fen, d.region, d.subsidy_fen,
       to_timestamp(d.decided_at / 1000.0) AS decided_at,
       d.decided_at AS decided_at_ms
  FROM zizhu.decision d
  LEFT JOIN zizhu.person_pseudonym pp USING (person_id)
 WHERE d.recon_status IN ('REFUND_DUE', 'RECOVERY_DUE', 'UNFUNDED_SUBSIDY',
                          'NOT_ENROLLED', 'ENROLLED_ELSEWHERE',
                          'HOUSEHOLD_TIER_MISMATCH', 'RECORDS_IN_CONFLICT');

CREATE VIEW zizhu_dash.backlog_summary AS
SELECT policy_name, year, recon_status, count(*)::bigint AS persons,
       sum(recon_fen)::bigint AS fen
  FROM zizhu_dash.backlog
 GROUP BY policy_name, year, recon_status;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zizhu_dashboard') THEN
        EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA zizhu_dash TO zizhu_dashboard';
    END IF;
END
$$;
