from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.wire_types import END_OF_TIME, format_time, normalize_guid


@pytest.mark.parametrize(
    "text",
    [
        "6A7C29DD011241DFBE1B64399283C860",
        "6a7c29dd011241dfbe1b64399283c860",
        "6a7c29dd-0112-41df-be1b-64399283c860",
    ],
)
def test_guids_are_emitted_as_32_upper_case_hex_digits(text: str) -> None:
    assert normalize_guid(text) == "6A7C29DD011241DFBE1B64399283C860"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "xyz",
        "6A7C29DD011241DFBE1B64399283C86",
        "{6a7c29dd-0112-41df-be1b-64399283c860}",
    ],
)
def test_text_that_is_not_a_guid_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="GUID"):
        normalize_guid(text)


def test_times_are_utc_with_milliseconds_and_z() -> None:
    paris = timezone(timedelta(hours=1))
    instant = datetime(2025, 10, 27, 11, 0, 0, 123456, tzinfo=paris)
    assert format_time(instant) == "2025-10-27T10:00:00.123Z"


def test_the_current_version_ends_in_3099() -> None:
    assert format_time(END_OF_TIME) == "3099-12-31T00:00:00.000Z"
    assert END_OF_TIME.tzinfo is UTC
