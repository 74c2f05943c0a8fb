-- name: insert_job
-- Register a new job and the request it runs; no row when it exists already.
INSERT INTO report_job (id, mode, study_id, field_specs, ext_field_specs)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: insert_first_version
-- Version 1 of a new job's ExecutionLog, SUBMITTED now.
INSERT INTO execution_log (
    id, object_version_number, rpt_id, rpt_name, rpt_format, rpt_stat_cd,
    rpt_kickoff_datetime, user_id, comment, operation_type,
    software_version_number, version_start)
VALUES ($1, 1, $2, $3, $4, 'SUBMITTED',
        date_trunc('milliseconds', clock_timestamp()), $5, $6, 'INSERT',
        $7, date_trunc('milliseconds', clock_timestamp()))

-- name: current_version
-- The current ExecutionLog of a job with its request, attempt and lease state.
SELECT log.*, job.mode, job.study_id, job.field_specs, job.ext_field_specs,
       job.attempt,
       coalesce(job.lease_expires_at < clock_timestamp(), true) AS lease_expired
FROM execution_log AS log
JOIN report_job AS job ON job.id = log.id
WHERE log.id = $1 AND log.version_end = '3099-12-31T00:00:00Z'

-- name: close_version
-- End the expected current version now; no row back means the race was lost.
UPDATE execution_log
SET version_end = greatest(date_trunc('milliseconds', clock_timestamp()),
                           version_start + interval '1 millisecond')
WHERE id = $1 AND object_version_number = $2
  AND version_end = '3099-12-31T00:00:00Z'
RETURNING version_end

-- name: insert_version
-- The next version of an ExecutionLog, starting where the closed one ended.
INSERT INTO execution_log (
    id, object_version_number, rpt_id, rpt_name, rpt_format, rpt_stat_cd,
    rpt_kickoff_datetime, user_id, comment, curr_search_spec, curr_sort_spec,
    file_storage_id, rec_count, run_duration, operation_type, reason,
    software_version_number, version_start, version_end)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
        $17, $18, $19)

-- name: take_lease
-- Start an attempt: count it and hold the job for this worker until the lease ends.
UPDATE report_job
SET attempt = attempt + 1, lease_owner = $2,
    lease_expires_at = clock_timestamp() + make_interval(secs => $3),
    next_attempt_at = NULL
WHERE id = $1
RETURNING attempt

-- name: release_lease
-- End an attempt: free the job and note when a retrial is due, if any.
UPDATE report_job
SET lease_owner = NULL, lease_expires_at = NULL,
    next_attempt_at = clock_timestamp() + make_interval(secs => $2)
WHERE id = $1

-- name: insert_outbox
-- Queue the completion event of a transition, in the transaction that made it.
INSERT INTO outbox (ce_id, job_id, object_version_number, ce_type, ce_time,
                    payload, traceparent)
VALUES ($1, $2, $3, $4, $5, $6, $7)

-- name: history
-- Every version of a job's ExecutionLog, oldest first.
SELECT * FROM execution_log WHERE id = $1 ORDER BY object_version_number

-- name: purgeable
-- Current SUCCESS versions whose report file was made before a cut-off.
SELECT * FROM execution_log
WHERE version_end = '3099-12-31T00:00:00Z' AND rpt_stat_cd = 'SUCCESS'
  AND file_storage_id IS NOT NULL AND version_start < $1
ORDER BY version_start
LIMIT $2

-- name: renew_lease
-- Extend the lease of an attempt that still holds it; no row if it does not.
UPDATE report_job
SET lease_expires_at = clock_timestamp() + make_interval(secs => $4)
WHERE id = $1 AND lease_owner = $2 AND attempt = $3
RETURNING id

-- name: record_file
-- Keep the size and checksum of the report a successful attempt stored.
UPDATE report_job
SET file_content_type = $2, file_size_bytes = $3, file_sha256 = $4
WHERE id = $1

-- name: file_of
-- The stored report of a job, if it has one.
SELECT log.file_storage_id, job.file_content_type, job.file_size_bytes,
       job.file_sha256
FROM report_job AS job
JOIN execution_log AS log
  ON log.id = job.id AND log.version_end = '3099-12-31T00:00:00Z'
WHERE job.id = $1 AND log.file_storage_id IS NOT NULL
