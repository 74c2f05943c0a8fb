-- The report file of a job's successful attempt, as stored: kept with the job
-- so that its size and checksum outlive the completion event.

ALTER TABLE report_job
    ADD COLUMN file_content_type text,
    ADD COLUMN file_size_bytes   bigint,
    ADD COLUMN file_sha256       char(64);
