-- The retrial producer: when it last re-published a job's kickoff, and the
-- indexes it searches by.

ALTER TABLE report_job ADD COLUMN republished_at timestamptz;

CREATE INDEX report_job_next_attempt ON report_job (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX report_job_lease ON report_job (lease_expires_at)
    WHERE lease_expires_at IS NOT NULL;
