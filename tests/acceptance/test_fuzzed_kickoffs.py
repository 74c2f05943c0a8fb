"""Fuzzed kickoffs through the worker: the malformed ones are dead-lettered
byte for byte, the valid ones run, and consumption goes on after them."""

import pytest

from service.settings import Settings
from tests import fuzz_strategies as fuzz
from tests.helpers import (
    dead_letters,
    headers_of,
    publish,
    running_worker,
    wait_for_status,
)

pytestmark = pytest.mark.acceptance

PER_KIND = 5
VALID = 10
SEED = 20261203
KEY = b"fuzzed"


def fuzzed_kickoffs() -> tuple[list[bytes], list[bytes], bytes]:
    """Malformed kickoffs, valid ones, and one more valid one to publish last."""
    malformed = fuzz.malformed_examples(PER_KIND, SEED)
    drawn = fuzz.examples(fuzz.valid_kickoffs(), 4 * VALID, SEED)
    *valid, last = fuzz.distinct_jobs(drawn, VALID + 1)
    return malformed, valid, last


def interleave(malformed: list[bytes], valid: list[bytes]) -> list[bytes]:
    """A valid kickoff after each run of malformed ones."""
    run = len(malformed) // len(valid)
    records: list[bytes] = []
    for index, kickoff in enumerate(valid):
        records += [*malformed[index * run : (index + 1) * run], kickoff]
    return records + malformed[len(valid) * run :]


async def test_fuzzed_malformed_kickoffs_are_dead_lettered_and_valid_ones_run(
    settings: Settings,
) -> None:
    malformed, valid, last = fuzzed_kickoffs()

    async with running_worker(settings):
        # One key: the worker takes the records of a key one at a time, in
        # offset order, so each valid kickoff runs right after malformed ones
        # and the last success means every record before it was handled.
        await publish(settings, *interleave(malformed, valid), key=KEY)
        for kickoff in valid:
            await wait_for_status(settings, fuzz.job_id_of(kickoff), "SUCCESS")
        await publish(settings, last, key=KEY)
        await wait_for_status(settings, fuzz.job_id_of(last), "SUCCESS")
        # Ask for one more than expected: a stray dead letter would show.
        letters = await dead_letters(settings, len(malformed) + 1, within=3)

    letters.sort(key=lambda letter: int(headers_of(letter)["original.offset"]))
    assert [letter.value for letter in letters] == malformed
    for letter in letters:
        headers = headers_of(letter)
        assert headers["error.type"] in {"NotJson", "ValidationError"}
        assert headers["error.message"]
        assert headers["original.topic"] == settings.kickoff_topic
        assert letter.key == KEY
