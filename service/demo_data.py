"""A deterministic synthetic clinical dataset for the built-in templates.

The same seed and size always give the same rows, so tests and demos can name
studies, sites and counts. The first study is the reference page's example
study, CFD8129A430A473C8A02F4BA5DAAD865. Subjects are spread unevenly, as in
real tenants: half in the first study, and nine in ten in active mode.

Rows stream from generators into COPY, so memory stays flat at any size;
`report-worker seed --subjects 300000` gives about 2.7 million rows.
"""

import math
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from service.database import Connection
from service.sql import statements

REFERENCE_STUDY_ID = uuid.UUID("CFD8129A430A473C8A02F4BA5DAAD865")
STUDY_SHARE = (0.5, 0.25, 0.25)
MODE_SHARE = {"test": 0.05, "active": 0.9, "training": 0.05}
RULE_STATES = ("draft", "approved", "published", "retired")
SUBJECT_STATUSES = ("screened", "enrolled", "completed", "withdrawn")
COUNTRIES = (
    ("US", "United States", "North America"),
    ("CA", "Canada", "North America"),
    ("BR", "Brazil", "Latin America"),
    ("DE", "Germany", "Europe"),
    ("FR", "France", "Europe"),
    ("GB", "United Kingdom", "Europe"),
    ("ES", "Spain", "Europe"),
    ("JP", "Japan", "Asia Pacific"),
    ("IN", "India", "Asia Pacific"),
    ("AU", "Australia", "Asia Pacific"),
)
FORMS = ("Demographics", "Vital Signs", "Adverse Events", "Labs", "Dosing")
STUDIES = (
    ("ONC-101", "Oncology Phase II Dose Finding", "II", "Oncology"),
    ("CAR-204", "Heart Failure Outcomes", "III", "Cardiology"),
    ("NEU-310", "Migraine Prevention", "II", "Neurology"),
)
VISITS = ("Screening", "Baseline", "Week 2", "Week 4", "Week 8", "Week 12")
DATA_CUTOFF = date(2025, 6, 30)
"""Visits before this day happened (or were missed); later ones are planned."""

SeedRow = tuple[object, ...]


@dataclass(frozen=True)
class DatasetSize:
    """How much to generate."""

    subjects: int = 360
    subjects_per_site: int = 25
    visits_per_subject: int = 6
    rules_per_study_mode: int = 12


@dataclass(frozen=True)
class _Site:
    id: uuid.UUID
    study_id: uuid.UUID
    mode: str
    number: str
    subjects: int


class _Generator:
    """Every random choice of one seed, in a fixed order."""

    def __init__(self, seed: int, size: DatasetSize) -> None:
        self.rng = random.Random(seed)
        self.size = size
        self.studies: list[tuple[uuid.UUID, str, str, str, str]] = [
            (REFERENCE_STUDY_ID if n == 0 else self.new_id(), *study)
            for n, study in enumerate(STUDIES)
        ]
        self.sites = list(self._plan_sites())

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def day(self, start: date, span_days: int) -> date:
        return start + timedelta(days=self.rng.randrange(span_days))

    def _plan_sites(self) -> Iterator[_Site]:
        for study, study_share in zip(self.studies, STUDY_SHARE, strict=True):
            for mode, mode_share in MODE_SHARE.items():
                subjects = max(1, round(self.size.subjects * study_share * mode_share))
                count = max(2, math.ceil(subjects / self.size.subjects_per_site))
                for n in range(count):
                    share = subjects // count + (1 if n < subjects % count else 0)
                    country = self.rng.choice(COUNTRIES)[0]
                    number = f"{country}{n + 1:03d}"
                    yield _Site(self.new_id(), study[0], mode, number, share)

    def site_rows(self) -> Iterator[SeedRow]:
        for site in self.sites:
            yield (
                site.id,
                site.study_id,
                site.mode,
                site.number,
                f"Site {site.number}",
                site.number[:2],
                self.rng.choice(("active", "active", "active", "closed")),
                self.day(date(2023, 1, 1), 700),
            )

    def subject_and_visit_rows(self, visits: list[SeedRow]) -> Iterator[SeedRow]:
        """Subjects; each subject's visits are appended to `visits` as it goes."""
        for site in self.sites:
            for n in range(1, site.subjects + 1):
                subject_id = self.new_id()
                enrolled = self.day(date(2024, 1, 1), 540)
                visits.extend(self._visits(site, subject_id, enrolled))
                yield (
                    subject_id,
                    site.study_id,
                    site.id,
                    site.mode,
                    f"{site.number}-{n:05d}",
                    self.rng.choice(SUBJECT_STATUSES),
                    self.rng.choice("FM"),
                    self.rng.randint(1940, 2005),
                    enrolled,
                    self.rng.random() < 0.7,
                )

    def _visits(
        self, site: _Site, subject_id: uuid.UUID, enrolled: date
    ) -> Iterator[SeedRow]:
        for n in range(self.size.visits_per_subject):
            when = enrolled + timedelta(days=21 * n + self.rng.randrange(-3, 4))
            if when > DATA_CUTOFF:
                status = "planned"
            else:
                status = "missed" if self.rng.random() < 0.06 else "completed"
            name = VISITS[n] if n < len(VISITS) else f"Week {4 * (n - 1)}"
            yield (self.new_id(), site.study_id, site.id, subject_id, site.mode,
                   n + 1, name, when, status)  # fmt: skip

    def rule_rows(self) -> Iterator[SeedRow]:
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for study in self.studies:
            for mode in MODE_SHARE:
                for n in range(1, self.size.rules_per_study_mode + 1):
                    form = self.rng.choice(FORMS)
                    yield (
                        self.new_id(),
                        study[0],
                        mode,
                        f"{form} check {n:03d}",
                        form,
                        RULE_STATES[n % len(RULE_STATES)],
                        self.rng.choice(("low", "medium", "high")),
                        start + timedelta(minutes=self.rng.randrange(600 * 24 * 60)),
                    )


async def seed(
    conn: Connection, seed: int = 1, size: DatasetSize | None = None
) -> dict[str, int]:
    """Replace the clinical dataset with the one `seed` and `size` give."""
    generator = _Generator(seed, size or DatasetSize())
    counts: dict[str, int] = {}
    async with conn.transaction():
        await conn.execute(statements("demo_data")["clear"])
        await _copy(conn, "country", COUNTRIES, counts)
        await _copy(conn, "study", generator.studies, counts)
        await _copy(conn, "site", generator.site_rows(), counts)
        await _copy_subjects_and_visits(conn, generator, counts)
        await _copy(conn, "rule", generator.rule_rows(), counts)
    await conn.execute(statements("demo_data")["analyze"])
    return counts


async def _copy_subjects_and_visits(
    conn: Connection, generator: _Generator, counts: dict[str, int]
) -> None:
    """Subjects go in batches, each followed by the visits of its subjects, so
    only one batch of visits waits in memory."""
    visits: list[SeedRow] = []
    batch: list[SeedRow] = []
    for subject in generator.subject_and_visit_rows(visits):
        batch.append(subject)
        if len(batch) == 10_000:
            await _copy(conn, "subject", batch, counts)
            await _copy(conn, "visit", visits, counts)
            batch.clear()
            visits.clear()
    await _copy(conn, "subject", batch, counts)
    await _copy(conn, "visit", visits, counts)


async def _copy(
    conn: Connection, table: str, rows: Iterable[SeedRow], counts: dict[str, int]
) -> None:
    counted = _Counted(rows)
    await conn.copy_records_to_table(table, records=counted, schema_name="clinical")
    counts[table] = counts.get(table, 0) + counted.count


class _Counted:
    """An iterable that counts the rows it hands out."""

    def __init__(self, rows: Iterable[SeedRow]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[SeedRow]:
        for row in self._rows:
            self.count += 1
            yield row
