-- 001_foundation.sql — the zizhu schema and its bookkeeping.
-- Later migrations add facts, decisions, outbox and settlement tables.
CREATE SCHEMA IF NOT EXISTS zizhu;

-- One row per program instance that has touched this database, so an
-- operator can see which versions of the workers ran against it.
CREATE TABLE IF NOT EXISTS zizhu.instance_seen (
    program     text        NOT NULL,
    version     text        NOT NULL,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program, version)
);
