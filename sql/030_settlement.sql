-- 030_settlement.sql — settlement (资金结算) of the settlement worker
-- (zizhu-settlement-worker): closed periods, the per-person ledger that
-- keeps them closed, the allocation messages to publish, and read-only
-- views for dashboards.
--
-- A period is settled once, in one transaction, from the facts inside the
-- boundary its close command resolved to; nothing here is updated after
-- that transaction except settle_allocation.published_at (bookkeeping of
-- the relay). A later fact becomes an ADJUSTMENT line of a later period.

-- Every CLOSE_PERIOD command the settlement worker consumed, with what
-- came of it (CLOSED, ALREADY_CLOSED, REJECTED and why).
CREATE TABLE zizhu.settle_command (
    event_id       text   PRIMARY KEY,
    jurisdiction   text   NOT NULL,
    period         text   NOT NULL,
    issued_at      bigint NOT NULL,
    src_partition  int    NOT NULL,
    src_offset     bigint NOT NULL,
    status         text   NOT NULL,
    reason         text   NOT NULL DEFAULT ''
);

-- One row per closed period of a policy. boundary is the list of input
-- positions [{topic, partition, end}] the settlement covered (end
-- exclusive).
CREATE TABLE zizhu.settle_period (
    policy_name     text   NOT NULL,
    period          text   NOT NULL,   -- canonical label: 2020, 2021H1, 2020S1
    period_index    int    NOT NULL,
    jurisdiction    text   NOT NULL,
    policy_version  text   NOT NULL,
    close_event_id  text   NOT NULL,
    closed_at       bigint NOT NULL,   -- issued_at of the command, ms
    boundary        jsonb  NOT NULL,
    allocations     int    NOT NULL,
    lines           int    NOT NULL,
    persons         int    NOT NULL,
    fen             bigint NOT NULL,
    PRIMARY KEY (policy_name, period),
    UNIQUE (policy_name, period_index)
);

-- What has been settled so far per person-year and key, summed over all
-- closed periods (kinds netted). first_period: index of the period the key
-- was first settled in, named by ADJUSTMENT lines.
CREATE TABLE zizhu.settle_ledger (
    policy_name   text   NOT NULL,
    person_id     text   NOT NULL,
    year          int    NOT NULL,
    payer         text   NOT NULL,
    fund          text   NOT NULL,
    region        text   NOT NULL,
    category      text   NOT NULL,
    rule          text   NOT NULL,
    fen           bigint NOT NULL,
    first_period  int    NOT NULL,
    PRIMARY KEY (policy_name, person_id, year, payer, fund, region, category,
                 rule)
);

-- The allocation messages of closed periods, in publishing order (id). value
-- is the Avro single-object encoding published on the allocation topic;
-- key is "<jurisdiction>/<period>".
CREATE TABLE zizhu.settle_allocation (
    id              bigserial PRIMARY KEY,
    policy_name     text   NOT NULL,
    period          text   NOT NULL,
    allocation_id   text   NOT NULL UNIQUE,
    payer           text   NOT NULL,
    fund            text   NOT NULL,
    region          text   NOT NULL,
    kind            text   NOT NULL,
    persons         int    NOT NULL,
    fen             bigint NOT NULL,
    key             bytea  NOT NULL,
    value           bytea  NOT NULL,
    published_at    timestamptz
);
CREATE INDEX settle_allocation_period ON zizhu.settle_allocation
    (policy_name, period);

-- Person-level lines of the allocations: pseudonym and masked number only.
CREATE TABLE zizhu.settle_line (
    allocation_id   text   NOT NULL,
    policy_name     text   NOT NULL,
    period          text   NOT NULL,
    pseudonym       text   NOT NULL,
    masked_id       text   NOT NULL,
    year            int    NOT NULL,
    payer           text   NOT NULL,
    fund            text   NOT NULL,
    region          text   NOT NULL,
    kind            text   NOT NULL,
    category        text   NOT NULL,
    rule            text   NOT NULL,
    fen             bigint NOT NULL,
    adjusts_period  text
);
CREATE INDEX settle_line_alloc ON zizhu.settle_line (allocation_id);

-- Keyed pseudonym and masked number of every decided person, kept by the
-- settlement worker so that dashboard views never need the ID number.
CREATE TABLE zizhu.person_pseudonym (
    person_id  text PRIMARY KEY,
    pseudonym  text NOT NULL,
    masked_id  text NOT NULL
);

-- Enrollment targets of the policies (Huilong's villages), from the policy
-- files, refreshed by the settlement worker at start.
CREATE TABLE zizhu.enroll_target (
    policy_name  text   NOT NULL,
    year         int    NOT NULL,
    region       text   NOT NULL,
    name         text   NOT NULL,
    persons      bigint NOT NULL,
    PRIMARY KEY (policy_name, region)
);

-- ------------------------------------------------------------------
-- Dashboard views: a schema of their own, readable by zizhu_dashboard,
-- which has no access to the zizhu schema (no ID numbers, no names).
CREATE SCHEMA zizhu_dash;

CREATE VIEW zizhu_dash.settlement AS
SELECT a.policy_name, a.period, p.jurisdiction, p.closed_at, a.payer, a.fund,
       a.region, a.kind, a.persons, a.fen, a.allocation_id
  FROM zizhu.settle_allocation a
  JOIN zizhu.settle_period p USING (policy_name, period);

CREATE VIEW zizhu_dash.settlement_line AS
SELECT allocation_id, policy_name, period, pseudonym, masked_id, year, payer,
       fund, region, kind, category, rule, fen, adjusts_period
  FROM zizhu.settle_line;

CREATE VIEW zizhu_dash.settlement_payer AS
SELECT policy_name, period, payer, kind, sum(persons)::bigint AS persons,
       sum(fen)::bigint AS fen
  FROM zizhu.settle_allocation
 GROUP BY policy_name, period, payer, kind;

-- Reconciliation backlog: decisions that ask someone to act.
CREATE VIEW zizhu_dash.backlog AS
SELECT d.policy_name, d.year, pp.pseudonym, pp.masked_id, d.recon_status,
       d.recon_fen, d.region, d.subsidy_fen, d.decided_at
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

-- Enrollment progress per village against the policy's targets: persons
-- with a registration of the year in the village not cancelled, and of
-- them those who paid.
CREATE VIEW zizhu_dash.progress AS
WITH enrolled AS (
    SELECT DISTINCT e.person_id, e.year, e.region
      FROM zizhu.enrollment_fact e
     WHERE e.action = 'REGISTER'
       AND NOT EXISTS (SELECT 1 FROM zizhu.enrollment_fact c
                        WHERE c.action = 'CANCEL'
                          AND c.department = e.department
                          AND c.dept_record_id = e.dept_record_id)
)
SELECT t.policy_name, t.year, t.region, t.name AS village, t.persons AS target,
       count(en.person_id)::bigint AS enrolled,
       count(en.person_id) FILTER (WHERE EXISTS (
           SELECT 1 FROM zizhu.payment_fact pf
            WHERE pf.person_id = en.person_id AND pf.year = t.year
              AND pf.kind = 'PAYMENT'))::bigint AS paid,
       round(100.0 * count(en.person_id) / nullif(t.persons, 0), 2)
           AS percent
  FROM zizhu.enroll_target t
  LEFT JOIN enrolled en ON en.region = t.region AND en.year = t.year
 GROUP BY t.policy_name, t.year, t.region, t.name, t.persons;

-- Grants, when the read-only role exists (deploy/local/roles.sql creates
-- it as the superuser; run `zizhu migrate` first or after, either order:
-- roles.sql grants too).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zizhu_dashboard') THEN
        EXECUTE 'GRANT USAGE ON SCHEMA zizhu_dash TO zizhu_dashboard';
        EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA zizhu_dash TO zizhu_dashboard';
    END IF;
END
$$;
