-- A small clinical dataset for the built-in report templates: studies, sites,
-- subjects and data-validation rules. Every study keeps separate data per mode
-- (test, training, active). `report-worker seed` fills it deterministically.

CREATE SCHEMA clinical;

CREATE TABLE clinical.study (
    id               uuid PRIMARY KEY,
    code             text NOT NULL UNIQUE,
    name             text NOT NULL,
    phase            text NOT NULL,
    therapeutic_area text NOT NULL
);

CREATE TABLE clinical.site (
    id           uuid PRIMARY KEY,
    study_id     uuid NOT NULL REFERENCES clinical.study (id),
    mode         text NOT NULL CHECK (mode IN ('test', 'active', 'training')),
    site_number  text NOT NULL,
    name         text NOT NULL,
    country_code char(2) NOT NULL,
    status       text NOT NULL,
    activated_on date NOT NULL
);
CREATE INDEX site_study_mode ON clinical.site (study_id, mode);

CREATE TABLE clinical.subject (
    id             uuid PRIMARY KEY,
    study_id       uuid NOT NULL REFERENCES clinical.study (id),
    site_id        uuid NOT NULL REFERENCES clinical.site (id),
    mode           text NOT NULL CHECK (mode IN ('test', 'active', 'training')),
    subject_number text NOT NULL,
    status         text NOT NULL,
    sex            char(1) NOT NULL,
    birth_year     integer NOT NULL,
    enrolled_on    date NOT NULL,
    randomized     boolean NOT NULL
);
CREATE INDEX subject_study_mode ON clinical.subject (study_id, mode);

CREATE TABLE clinical.rule (
    id         uuid PRIMARY KEY,
    study_id   uuid NOT NULL REFERENCES clinical.study (id),
    mode       text NOT NULL CHECK (mode IN ('test', 'active', 'training')),
    name       text NOT NULL,
    form       text NOT NULL,
    state      text NOT NULL,
    severity   text NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX rule_study_mode ON clinical.rule (study_id, mode);
