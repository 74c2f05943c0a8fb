-- The job store: each report job, every version of its ExecutionLog, and the
-- outbox of completion events waiting to be published.

CREATE TABLE report_job (
    id               uuid PRIMARY KEY,
    mode             text NOT NULL CHECK (mode IN ('test', 'active', 'training')),
    study_id         uuid,
    field_specs      jsonb NOT NULL DEFAULT '[]',
    ext_field_specs  jsonb NOT NULL DEFAULT '[]',
    -- attempts claimed so far; the completion event's `attempt`
    attempt          integer NOT NULL DEFAULT 0,
    -- the worker holding the job while IN_PROGRESS, and until when
    lease_owner      text,
    lease_expires_at timestamptz,
    -- when a FAILED job that may be retried is due again
    next_attempt_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- One row per version. The current version ends at 3099-12-31; every
-- transition closes it (versionEnd) and inserts the next one, whose
-- versionStart is that same instant.
CREATE TABLE execution_log (
    id                      uuid NOT NULL REFERENCES report_job (id),
    object_version_number   integer NOT NULL CHECK (object_version_number >= 1),
    rpt_id                  uuid,
    rpt_name                varchar(255) NOT NULL,
    rpt_format              varchar(255) NOT NULL,
    rpt_stat_cd             varchar(255) NOT NULL CHECK (
        rpt_stat_cd IN ('SUBMITTED', 'IN_PROGRESS', 'SUCCESS', 'FAILED')),
    rpt_kickoff_datetime    timestamptz NOT NULL,
    user_id                 uuid NOT NULL,
    comment                 varchar(4000),
    curr_search_spec        varchar(32000),
    curr_sort_spec          varchar(512),
    file_storage_id         uuid,
    rec_count               integer,
    run_duration            bigint,
    operation_type          varchar(1024),
    reason                  varchar(4000),
    software_version_number numeric,
    version_start           timestamptz NOT NULL,
    version_end             timestamptz NOT NULL DEFAULT '3099-12-31T00:00:00Z',
    PRIMARY KEY (id, object_version_number),
    CHECK (version_end >= version_start)
);

-- At most one current version per job: the backstop of the version check.
CREATE UNIQUE INDEX execution_log_current ON execution_log (id)
    WHERE version_end = '3099-12-31T00:00:00Z';

CREATE INDEX execution_log_file ON execution_log (file_storage_id)
    WHERE file_storage_id IS NOT NULL;

-- Completion events, written in the transaction of the transition they
-- announce; the relay publishes them and stamps published_at.
CREATE TABLE outbox (
    seq                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ce_id                 uuid NOT NULL UNIQUE,
    job_id                uuid NOT NULL,
    object_version_number integer NOT NULL,
    ce_type               text NOT NULL,
    ce_time               timestamptz NOT NULL,
    payload               bytea NOT NULL,
    traceparent           text,
    created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at          timestamptz,
    UNIQUE (job_id, object_version_number),
    FOREIGN KEY (job_id, object_version_number)
        REFERENCES execution_log (id, object_version_number)
);

CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
