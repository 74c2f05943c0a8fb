-- name: clear
-- Empty the clinical dataset before a new seed.
TRUNCATE clinical.rule, clinical.subject, clinical.site, clinical.study
