-- name: lock
-- Serialize migrations across processes; released by unlock or disconnect.
SELECT pg_advisory_lock(7362100001)

-- name: unlock
-- Release the migration lock.
SELECT pg_advisory_unlock(7362100001)

-- name: create_ledger
-- The table that remembers which migrations ran.
CREATE TABLE IF NOT EXISTS schema_migration (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
)

-- name: applied
-- The versions already applied.
SELECT version FROM schema_migration ORDER BY version

-- name: record
-- Remember that one migration ran.
INSERT INTO schema_migration (version, name) VALUES ($1, $2)
