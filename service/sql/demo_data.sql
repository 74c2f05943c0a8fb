-- name: clear
-- Empty the clinical dataset before a new seed.
TRUNCATE clinical.visit, clinical.rule, clinical.subject, clinical.site,
         clinical.study, clinical.country

-- name: analyze
-- Fresh planner statistics after a bulk load.
ANALYZE clinical.study, clinical.site, clinical.subject, clinical.visit,
        clinical.rule, clinical.country
