-- name: try_lock
-- Become the one active retrial producer; held until this session ends.
SELECT pg_try_advisory_lock(7362100002)

-- name: due
-- FAILED jobs whose next attempt is due, and IN_PROGRESS jobs whose lease ran
-- out and that were not re-published since.
SELECT job.id, job.mode, job.study_id, job.field_specs, job.ext_field_specs,
       job.attempt, log.rpt_stat_cd
FROM report_job AS job
JOIN execution_log AS log
  ON log.id = job.id AND log.version_end = '3099-12-31T00:00:00Z'
WHERE (log.rpt_stat_cd = 'FAILED' AND job.next_attempt_at <= clock_timestamp())
   OR (log.rpt_stat_cd = 'IN_PROGRESS'
       AND job.lease_expires_at < clock_timestamp()
       AND (job.republished_at IS NULL
            OR job.republished_at < job.lease_expires_at))
ORDER BY coalesce(job.next_attempt_at, job.lease_expires_at)
LIMIT $1

-- name: mark_republished
-- Note that these jobs' kickoffs are on the topic again.
UPDATE report_job
SET next_attempt_at = NULL, republished_at = clock_timestamp()
WHERE id = ANY($1::uuid[])
