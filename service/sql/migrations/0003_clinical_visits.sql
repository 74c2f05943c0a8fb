-- Countries and subject visits for the demo dataset's Site Listing, Subject
-- Visits and tenant-level reports.

CREATE TABLE clinical.country (
    code   char(2) PRIMARY KEY,
    name   text NOT NULL,
    region text NOT NULL
);

CREATE TABLE clinical.visit (
    id           uuid PRIMARY KEY,
    study_id     uuid NOT NULL REFERENCES clinical.study (id),
    site_id      uuid NOT NULL REFERENCES clinical.site (id),
    subject_id   uuid NOT NULL REFERENCES clinical.subject (id),
    mode         text NOT NULL CHECK (mode IN ('test', 'active', 'training')),
    visit_number integer NOT NULL,
    visit_name   text NOT NULL,
    visit_date   date NOT NULL,
    status       text NOT NULL
);
CREATE INDEX visit_study_mode_date ON clinical.visit (study_id, mode, visit_date);
