"""A deterministic synthetic clinical dataset for the built-in templates.

The same seed and size always give the same rows, so tests and demos can name
studies, sites and counts. The first study is the reference page's example
study, CFD8129A430A473C8A02F4BA5DAAD865.
"""

import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from service.sql import statements

REFERENCE_STUDY_ID = uuid.UUID("CFD8129A430A473C8A02F4BA5DAAD865")
MODES = ("test", "active", "training")
RULE_STATES = ("draft", "approved", "published", "retired")
SUBJECT_STATUSES = ("screened", "enrolled", "completed", "withdrawn")
COUNTRIES = ("US", "DE", "FR", "GB", "JP", "BR", "IN", "ES", "CA", "AU")
FORMS = ("Demographics", "Vital Signs", "Adverse Events", "Labs", "Dosing")
STUDIES = (
    ("ONC-101", "Oncology Phase II Dose Finding", "II", "Oncology"),
    ("CAR-204", "Heart Failure Outcomes", "III", "Cardiology"),
    ("NEU-310", "Migraine Prevention", "II", "Neurology"),
)


@dataclass(frozen=True)
class DatasetSize:
    """How much to generate; `subjects_per_site` scales the dataset."""

    sites_per_study_mode: int = 4
    subjects_per_site: int = 10
    rules_per_study_mode: int = 12


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def day(self, start: date, span_days: int) -> date:
        return start + timedelta(days=self.rng.randrange(span_days))


def _studies(gen: _Generator) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for index, (code, name, phase, area) in enumerate(STUDIES):
        study_id = REFERENCE_STUDY_ID if index == 0 else gen.uuid()
        rows.append((study_id, code, name, phase, area))
    return rows


def _sites(
    gen: _Generator, studies: list[tuple[object, ...]], size: DatasetSize
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for study in studies:
        for mode in MODES:
            for number in range(1, size.sites_per_study_mode + 1):
                country = gen.rng.choice(COUNTRIES)
                rows.append(
                    (
                        gen.uuid(),
                        study[0],
                        mode,
                        f"{country}{number:03d}",
                        f"{study[1]} site {number} ({country})",
                        country,
                        gen.rng.choice(("active", "active", "closed")),
                        gen.day(date(2023, 1, 1), 700),
                    )
                )
    return rows


def _subjects(
    gen: _Generator, sites: list[tuple[object, ...]], size: DatasetSize
) -> Iterator[tuple[object, ...]]:
    for site in sites:
        for number in range(1, size.subjects_per_site + 1):
            yield (
                gen.uuid(),
                site[1],
                site[0],
                site[2],
                f"{site[3]}-{number:05d}",
                gen.rng.choice(SUBJECT_STATUSES),
                gen.rng.choice("FM"),
                gen.rng.randint(1940, 2005),
                gen.day(date(2024, 1, 1), 600),
                gen.rng.random() < 0.7,
            )


def _rules(
    gen: _Generator, studies: list[tuple[object, ...]], size: DatasetSize
) -> Iterator[tuple[object, ...]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for study in studies:
        for mode in MODES:
            for number in range(1, size.rules_per_study_mode + 1):
                form = gen.rng.choice(FORMS)
                yield (
                    gen.uuid(),
                    study[0],
                    mode,
                    f"{form} check {number:03d}",
                    form,
                    RULE_STATES[number % len(RULE_STATES)],
                    gen.rng.choice(("low", "medium", "high")),
                    start + timedelta(minutes=gen.rng.randrange(600 * 24 * 60)),
                )


async def seed(
    conn: asyncpg.Connection, seed: int = 1, size: DatasetSize | None = None
) -> dict[str, int]:
    """Replace the clinical dataset with the one `seed` and `size` give."""
    size = size or DatasetSize()
    gen = _Generator(seed)
    studies = _studies(gen)
    sites = _sites(gen, studies, size)
    tables: dict[str, Iterable[tuple[object, ...]]] = {
        "study": studies,
        "site": sites,
        "subject": _subjects(gen, sites, size),
        "rule": _rules(gen, studies, size),
    }
    counts: dict[str, int] = {}
    async with conn.transaction():
        await conn.execute(statements("demo_data")["clear"])
        for table, rows in tables.items():
            counted = _Counted(rows)
            # COPY streams the generator: memory stays flat at any size.
            await conn.copy_records_to_table(
                table, records=counted, schema_name="clinical"
            )
            counts[table] = counted.count
    return counts


class _Counted:
    """An iterable that counts the rows it hands out."""

    def __init__(self, rows: Iterable[tuple[object, ...]]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[tuple[object, ...]]:
        for row in self._rows:
            self.count += 1
            yield row
