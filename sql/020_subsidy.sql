-- 020_subsidy.sql — facts, decisions, outbox and consumer positions of the
-- subsidy worker (zizhu-subsidy-worker).
--
-- Facts are immutable rows keyed by the event id: a redelivered event hits
-- ON CONFLICT (event_id) DO NOTHING and changes nothing. Instants are
-- bigint milliseconds since the epoch (as on the wire: Avro
-- timestamp-millis), business dates are date. One PostgreSQL transaction per
-- consumer batch writes the facts, the decisions, the outbox rows and the
-- new consumer positions together.

-- Consumer positions, held here instead of in Kafka: the offset to read next
-- per group, topic and partition. epoch is bumped by every instance that is
-- assigned the partition; a batch commits only while the epoch it was
-- assigned with is still current, so an instance that lost the partition
-- cannot write over the new owner's position.
CREATE TABLE zizhu.consumer_position (
    group_id     text   NOT NULL,
    topic        text   NOT NULL,
    partition    int    NOT NULL,
    next_offset  bigint NOT NULL,
    epoch        bigint NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);

-- identity stream: one row per event (GRANT, END, CORRECT, REVOKE,
-- DECEASED). The state of a department record is folded from its events by
-- business time (reported_at), so the order of arrival does not matter.
CREATE TABLE zizhu.identity_fact (
    event_id          text   PRIMARY KEY,
    person_id         text   NOT NULL,
    department        text   NOT NULL,
    dept_record_id    text   NOT NULL,
    action            text   NOT NULL,
    category          text   NOT NULL,
    attrs             jsonb  NOT NULL,
    valid_from        date   NOT NULL,
    valid_to          date,
    approving_region  text   NOT NULL,
    residence_region  text,
    reported_at       bigint NOT NULL,
    deceased_on       date,
    src_topic         text   NOT NULL,
    src_partition     int    NOT NULL,
    src_offset        bigint NOT NULL
);
CREATE INDEX identity_fact_person ON zizhu.identity_fact (person_id);

-- enrollment stream: REGISTER and CANCEL (a CANCEL names the record it
-- cancels by dept_record_id).
CREATE TABLE zizhu.enrollment_fact (
    event_id          text   PRIMARY KEY,
    person_id         text   NOT NULL,
    department        text   NOT NULL,
    dept_record_id    text   NOT NULL,
    action            text   NOT NULL,
    household_id      text   NOT NULL,
    year              int    NOT NULL,
    tier              int    NOT NULL,
    enrollment_class  text   NOT NULL,
    kind              text   NOT NULL,
    registered_on     date   NOT NULL,
    region            text   NOT NULL,
    unit              text,
    src_topic         text   NOT NULL,
    src_partition     int    NOT NULL,
    src_offset        bigint NOT NULL
);
CREATE INDEX enrollment_fact_person ON zizhu.enrollment_fact (person_id);

-- payment stream: each event states the person's position for the year
-- after it; the latest by paid_at (then event id) is current.
CREATE TABLE zizhu.payment_fact (
    event_id             text   PRIMARY KEY,
    person_id            text   NOT NULL,
    department           text   NOT NULL,
    dept_record_id       text   NOT NULL,
    kind                 text   NOT NULL,
    year                 int    NOT NULL,
    contribution_fen     bigint NOT NULL,
    subsidy_applied_fen  bigint NOT NULL,
    paid_fen             bigint NOT NULL,
    refund_fen           bigint NOT NULL,
    paid_at              bigint NOT NULL,
    receipt              text   NOT NULL,
    src_topic            text   NOT NULL,
    src_partition        int    NOT NULL,
    src_offset           bigint NOT NULL
);
CREATE INDEX payment_fact_person ON zizhu.payment_fact (person_id);

-- control stream: recorded for the settlement worker and for audit.
CREATE TABLE zizhu.control_fact (
    event_id        text   PRIMARY KEY,
    department      text   NOT NULL,
    dept_record_id  text   NOT NULL,
    command         text   NOT NULL,
    jurisdiction    text   NOT NULL,
    period          text,
    policy_name     text,
    policy_version  text,
    issued_at       bigint NOT NULL,
    src_topic       text   NOT NULL,
    src_partition   int    NOT NULL,
    src_offset      bigint NOT NULL
);

-- The current decision per person and insurance year. body is the
-- canonical JSON of the decision (the policy-eval contract plus
-- decided_at and source_event_id): a new decision is written only when its
-- body differs.
CREATE TABLE zizhu.decision (
    person_id           text   NOT NULL,
    year                int    NOT NULL,
    revision            int    NOT NULL,
    policy_name         text   NOT NULL,
    policy_version      text   NOT NULL,
    eligible            boolean NOT NULL,
    contribution_fen    bigint NOT NULL,
    subsidy_fen         bigint NOT NULL,
    individual_due_fen  bigint NOT NULL,
    recon_status        text   NOT NULL,
    recon_fen           bigint NOT NULL,
    region              text,
    decided_at          bigint NOT NULL,
    source_event_id     text   NOT NULL,
    body                text   NOT NULL,
    PRIMARY KEY (person_id, year)
);

-- Every revision of every decision, for "what was decided as of T"
-- (recorded_at is the commit time of the batch; decided_at business time).
CREATE TABLE zizhu.decision_history (
    person_id        text        NOT NULL,
    year             int         NOT NULL,
    revision         int         NOT NULL,
    decided_at       bigint      NOT NULL,
    source_event_id  text        NOT NULL,
    body             text        NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, year, revision)
);

-- Inputs that could not be used (also published through the outbox).
CREATE TABLE zizhu.dead_letter (
    src_topic      text   NOT NULL,
    src_partition  int    NOT NULL,
    src_offset     bigint NOT NULL,
    stream         text   NOT NULL,
    event_id       text,
    reason         text   NOT NULL,
    reason_text    text   NOT NULL,
    PRIMARY KEY (src_topic, src_partition, src_offset)
);

-- The transactional outbox. Ids are handed out from outbox_seq under its
-- row lock, taken as the last step of each batch transaction and held to
-- its commit, so ids become visible in commit order and the relay, which
-- publishes in id order, never skips a row that commits late.
CREATE TABLE zizhu.outbox_seq (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_id  bigint  NOT NULL
);
INSERT INTO zizhu.outbox_seq (one, last_id) VALUES (true, 0);

CREATE TABLE zizhu.outbox (
    id      bigint PRIMARY KEY,
    stream  text   NOT NULL,  -- subsidy-state, reconciliation, dead-letter
    key     bytea,
    value   bytea  NOT NULL   -- Avro single-object encoding
);
