-- 032_hot_updates.sql — room on each page for updated decisions.
--
-- A person's decision is rewritten each time a new fact of theirs arrives
-- (about 1.5 times per person-year in a generated province). With full
-- pages every rewrite moves the row to another page and adds an index
-- entry; with free room on the page PostgreSQL updates it in place (a HOT
-- update: no index entry, less WAL, less vacuum). Applies to pages written
-- from now on; a VACUUM FULL applies it to existing ones.
ALTER TABLE zizhu.decision SET (fillfactor = 70);
ALTER TABLE zizhu.finding SET (fillfactor = 70);
