-- 022_findings.sql — findings of the subsidy worker that are not a single
-- person-year decision: HOUSEHOLD_TIER_MISMATCH (subject: the household)
-- and RECORDS_IN_CONFLICT (subject: the person). One row per kind, subject
-- and insurance year, kept current in the batch transaction that changed
-- the facts; a reconciliation outbox row is written when a finding appears,
-- clears, or (while active) its detail changes. detail never holds an ID
-- number: members are shown masked (zz_idno_mask). person_id is the key of
-- the finding's reconciliation messages (for a household: its first member
-- in "C" order when the finding appeared).
CREATE TABLE zizhu.finding (
    kind             text    NOT NULL,
    subject          text    NOT NULL,
    year             int     NOT NULL,
    person_id        text    NOT NULL,
    policy_name      text    NOT NULL,
    policy_version   text    NOT NULL,
    active           boolean NOT NULL,
    detail           text    NOT NULL,
    region           text    NOT NULL,
    decided_at       bigint  NOT NULL,
    source_event_id  text    NOT NULL,
    PRIMARY KEY (kind, subject, year)
);

-- Members of a household-year, for HOUSEHOLD_TIER_MISMATCH.
CREATE INDEX enrollment_fact_household
    ON zizhu.enrollment_fact (household_id, year);
