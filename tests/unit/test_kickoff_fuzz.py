"""Kickoff parsing under fuzzed input: nothing crashes it, valid events survive.

Pure logic, no services. Each kind of malformed kickoff gets examples of its
own, so a failure names the kind; `malformed_kickoffs()` mixes them.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.errors import InvalidKickoff
from service.kickoff import parse_kickoff
from tests import fuzz_strategies as fuzz
from tests.helpers import kickoff

MAX_MESSAGE_LENGTH = 4000
"""Where the dead-letter header cuts `error.message`; a reason must fit."""

KINDS = fuzz.malformed_kinds()

# 40 examples per kind and 300 mixed keep this file near 10 s on 2 cores; the
# huge arrays take half of it.
fuzzing = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_refused(raw: bytes) -> None:
    with pytest.raises(InvalidKickoff) as caught:
        parse_kickoff(raw)
    error = caught.value
    assert error.error_type in {"NotJson", "ValidationError"}
    assert 0 < len(error.message) < MAX_MESSAGE_LENGTH, len(error.message)
    error.message.encode()  # it travels as a Kafka header


@pytest.mark.parametrize("kind", KINDS)
@fuzzing
@given(data=st.data())
def test_each_kind_of_malformed_kickoff_is_refused_with_a_short_reason(
    kind: str, data: st.DataObject
) -> None:
    assert_refused(data.draw(KINDS[kind], label=kind))


@settings(fuzzing, max_examples=300)
@given(fuzz.malformed_kickoffs())
def test_any_malformed_kickoff_is_refused_with_a_short_reason(raw: bytes) -> None:
    assert_refused(raw)


@settings(fuzzing, max_examples=300)
@given(fuzz.valid_kickoffs())
def test_every_valid_kickoff_parses_and_survives_a_round_trip(raw: bytes) -> None:
    event = parse_kickoff(raw)

    again = parse_kickoff(event.model_dump_json(by_alias=True).encode())

    assert again == event
    assert again.job_id == fuzz.job_id_of(raw)


# Bugs the strategies above found, fixed in service/kickoff.py and
# service/wire_types.py; these keep them fixed.


@settings(fuzzing, max_examples=20)
@given(fuzz.lax_guids())
def test_guids_neither_plain_hex_nor_dashed_are_refused(raw: bytes) -> None:
    assert_refused(raw)


def test_a_long_unknown_field_name_keeps_the_reason_short() -> None:
    document = kickoff()
    document["k" * 5000] = 1

    assert_refused(json.dumps(document).encode())


def test_an_rpt_format_too_long_once_upper_cased_is_refused() -> None:
    document = kickoff()
    document["report"]["rptFormat"] = "ß" * 200  # 400 characters as "SS" * 200

    assert_refused(json.dumps(document).encode())


@settings(fuzzing, max_examples=20)
@given(fuzz.nul_characters())
def test_a_nul_character_in_a_string_is_refused(raw: bytes) -> None:
    assert_refused(raw)
