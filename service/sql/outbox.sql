-- name: pending
-- The oldest unpublished completion events, locked so one relay sends each.
SELECT seq, ce_id, job_id, ce_type, ce_time, payload, traceparent
FROM outbox
WHERE published_at IS NULL
ORDER BY seq
LIMIT $1
FOR UPDATE SKIP LOCKED

-- name: mark_published
-- Stamp events the broker acknowledged.
UPDATE outbox SET published_at = clock_timestamp() WHERE seq = ANY($1::bigint[])
