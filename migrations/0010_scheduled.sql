-- Scheduled jobs (a switchover at a set time): the job is stored 'queued'
-- with the time it is to start, in epoch ms; NULL for a job that runs at
-- once. The runner keeps the scheduled ones in memory and reads them back
-- at start (the partial index jobs_unfinished_id already finds them).
ALTER TABLE jobs ADD COLUMN run_at INTEGER;
