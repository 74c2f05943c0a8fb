"""GUID and time formats of the public contract, as pydantic types.

GUIDs are accepted as 32 hex digits (any case) or as dashed UUIDs and always
emitted as 32 upper-case hex digits. Times are emitted as ISO-8601 UTC with
milliseconds and `Z`.
"""

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

END_OF_TIME = datetime(3099, 12, 31, tzinfo=UTC)
"""`versionEnd` of the current version of a versioned row."""


_GUID = re.compile(
    r"[0-9a-fA-F]{32}"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def normalize_guid(value: object) -> str:
    """Return `value` as 32 upper-case hex digits, or raise ValueError.

    Only the contract's two forms pass: uuid.UUID alone would also take
    braces, `urn:uuid:`, stray dashes, spaces and non-ASCII digits.
    """
    if isinstance(value, uuid.UUID):
        return value.hex.upper()
    if not isinstance(value, str):
        raise ValueError("must be a GUID string")
    if not _GUID.fullmatch(value):
        raise ValueError("must be a GUID: 32 hex digits or a dashed UUID")
    return value.replace("-", "").upper()


def format_time(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds and `Z`: `2025-10-27T10:00:00.123Z`."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _require_aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a UTC offset or Z")
    return value.astimezone(UTC)


Guid = Annotated[str, BeforeValidator(normalize_guid)]
"""A GUID, normalized to 32 upper-case hex digits."""

UtcTime = Annotated[
    datetime,
    AfterValidator(_require_aware_utc),
    PlainSerializer(format_time, return_type=str, when_used="json"),
]
"""An aware UTC time, serialized to JSON in the contract's format."""


def guid_to_uuid(guid: str) -> uuid.UUID:
    return uuid.UUID(guid)


def uuid_to_guid(value: uuid.UUID) -> str:
    return value.hex.upper()
