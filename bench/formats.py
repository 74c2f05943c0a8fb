"""Report formats: rows/s and peak RSS of the worker's writers against the raw
library loop writing the same rows, at 100k and 1M rows, in one run.

    python -m bench.formats                # every format, 100k and 1M rows
    python -m bench.formats --formats CSV --rows 100000

Needs the services of `make services`. The first run seeds a database of its
own (`reports_bench_formats`, about 2.6 million rows, a minute or two) and
keeps it for the next runs. Each measurement runs in a fresh process, so its
peak RSS (ru_maxrss) is its own: imports, the cursor, the writer and storage.
"""

import argparse
import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench import format_run
from service.demo_data import DatasetSize, seed
from service.migrations import migrate
from service.settings import Settings

DATABASE = "reports_bench_formats"
SUBJECTS = 370_371
"""Gives 1,000,002 visits in the reference study's active mode."""


@dataclass(frozen=True)
class Measure:
    rows: int
    seconds: float
    peak_rss_mb: float
    size_bytes: int

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


async def prepare(admin_url: str) -> str:
    """The bench database, seeded once."""
    url = urlunsplit(urlsplit(admin_url)._replace(path="/" + DATABASE))
    admin = await asyncpg.connect(admin_url)
    try:
        if not await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", DATABASE
        ):
            await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        visits = await conn.fetchval("SELECT count(*) FROM clinical.visit")
        if visits < 1_000_000 * 2:
            print(f"seeding {DATABASE} with {SUBJECTS} subjects ...", file=sys.stderr)
            await seed(conn, size=DatasetSize(subjects=SUBJECTS))
    finally:
        await conn.close()
    return url


def measure(database_url: str, report_format: str, rows: int, path: str) -> Measure:
    """One run in a fresh process; `path` is `engine` or `raw`."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.format_run", database_url, report_format,
         str(rows), path],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    return Measure(**json.loads(result.stdout))


def best(url: str, report_format: str, rows: int, path: str, runs: int) -> Measure:
    """The fastest of `runs` (the machine is noisy); its peak RSS is the largest."""
    measures = [measure(url, report_format, rows, path) for _ in range(runs)]
    fastest = min(measures, key=lambda m: m.seconds)
    peak = max(m.peak_rss_mb for m in measures)
    return Measure(fastest.rows, fastest.seconds, peak, fastest.size_bytes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--formats", nargs="+", default=list(format_run.RAW_LOOPS))
    parser.add_argument("--rows", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each; the fastest counts"
    )
    args = parser.parse_args(argv)
    url = asyncio.run(prepare(Settings().database_url))
    print(
        f"\n{'format':<6} {'rows':>9} {'worker rows/s':>14} {'raw rows/s':>11} "
        f"{'ratio':>6} {'worker MB':>10} {'raw MB':>7} {'file MB':>8}"
    )
    for report_format in args.formats:
        for rows in args.rows:
            engine = best(url, report_format, rows, "engine", args.repeat)
            raw = best(url, report_format, rows, "raw", args.repeat)
            print(
                f"{report_format:<6} {engine.rows:>9} {engine.rate:>14,.0f} "
                f"{raw.rate:>11,.0f} {engine.rate / raw.rate:>6.2f} "
                f"{engine.peak_rss_mb:>10.0f} {raw.peak_rss_mb:>7.0f} "
                f"{engine.size_bytes / 1e6:>8.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
