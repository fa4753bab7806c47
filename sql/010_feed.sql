-- 010_feed.sql — what zizhu-feed remembers between runs.
--
-- Departments often send full lists (snapshots) of everyone they currently
-- recognize. zizhu-feed compares each list with the department's previous
-- one to derive grants, changes and ends, so the previous list is kept
-- here rather than in a state file on one clerk's machine: it is shared by
-- every operator, backed up with the rest, and locked per department
-- (pg_advisory_lock) while a run is in progress. The table holds ID numbers:
-- only the feeder's role needs it; dashboards never read it.

-- The last accepted snapshot, one row per department record.
CREATE TABLE IF NOT EXISTS zizhu.feed_snapshot_record (
    department        text NOT NULL,
    dept_record_id    text NOT NULL,
    person_id         text NOT NULL,
    category          text NOT NULL,
    attrs             text NOT NULL DEFAULT '',  -- "k=v;k=v", keys sorted
    valid_from        date NOT NULL,
    valid_to          date,
    deceased_on       date,
    approving_region  text NOT NULL,
    residence_region  text,
    PRIMARY KEY (department, dept_record_id)
);

-- Every accepted snapshot: what it changed, from which file.
CREATE TABLE IF NOT EXISTS zizhu.feed_snapshot_run (
    run_id       bigserial   PRIMARY KEY,
    department   text        NOT NULL,
    as_of        date        NOT NULL,
    file_sha256  text        NOT NULL,
    records      integer     NOT NULL,
    grants       integer     NOT NULL,
    changes      integer     NOT NULL,
    ends         integer     NOT NULL,
    deaths       integer     NOT NULL,
    prev_active  integer     NOT NULL,
    forced       boolean     NOT NULL DEFAULT false,
    applied_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS feed_snapshot_run_dept
    ON zizhu.feed_snapshot_run (department, run_id);
