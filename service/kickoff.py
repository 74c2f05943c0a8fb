"""The kickoff event: what upstream systems send to start a report job."""

from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from service.errors import InvalidKickoff
from service.wire_types import Guid

MAX_INT32 = 2_147_483_647
MAX_VALUE_LENGTH = 256
MAX_KICKOFF_BYTES = 1_000_000
"""Kafka's default largest message; larger kickoffs are refused unparsed."""


class Mode(StrEnum):
    TEST = "test"
    ACTIVE = "active"
    TRAINING = "training"


class FieldType(StrEnum):
    LIST = "list"
    DATE = "date"
    DATE_TIME = "date-time"
    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"


def _no_nul(text: str) -> str:
    if "\x00" in text:
        # PostgreSQL text and jsonb cannot hold U+0000: refuse it here, by name.
        raise ValueError("must not contain the NUL character (U+0000)")
    return text


_STORABLE = AfterValidator(_no_nul)
Name = Annotated[str, Field(min_length=1, max_length=255), _STORABLE]
"""fieldName, rptName, rptFormat: 1 to 255 characters."""
ValueText = Annotated[str, Field(min_length=1, max_length=MAX_VALUE_LENGTH), _STORABLE]
Comment = Annotated[str, Field(max_length=4000), _STORABLE]


class _Contract(BaseModel):
    """Shared settings: camelCase names, strict JSON types, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,  # the contract's names only: `jobId`, not job_id
        strict=True,
        extra="forbid",
        frozen=True,
    )


class IdValue(_Contract):
    """The object form of a field value: `{"id": "C36A..."}`."""

    id: ValueText


def _field_value(value: object) -> str | IdValue:
    """Accept a value as a string or as an `{"id": ...}` object, 1-256 characters."""
    if isinstance(value, dict):
        value = IdValue.model_validate(value).id
        form: type[str] | type[IdValue] = IdValue
    else:
        form = str
    if not isinstance(value, str):
        raise ValueError('must be a string or an object {"id": "..."}')
    if not 1 <= len(value) <= MAX_VALUE_LENGTH:
        raise ValueError(f"must have 1 to {MAX_VALUE_LENGTH} characters")
    _no_nul(value)
    return IdValue(id=value) if form is IdValue else value


def _field_value_json(value: str | IdValue) -> str | dict[str, str]:
    return value if isinstance(value, str) else {"id": value.id}


FieldValue = Annotated[
    str | IdValue,
    PlainValidator(_field_value),
    PlainSerializer(_field_value_json),
]


class FieldSpec(_Contract):
    """One report filter: the field, its type and the values to filter by."""

    field_name: Name
    field_type: FieldType
    field_sequence: Annotated[int, Field(ge=0, le=MAX_INT32)] | None = None
    field_value_list: Annotated[list[FieldValue], Field(fail_fast=True)]

    @property
    def values(self) -> list[str]:
        """The values as plain strings, whichever form they came in."""
        return [v.id if isinstance(v, IdValue) else v for v in self.field_value_list]


def _one_or_many(value: object) -> object:
    """Accept a single entry object where a list of entries is expected."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return value


FieldSpecs = Annotated[
    Annotated[list[FieldSpec], Field(fail_fast=True)], BeforeValidator(_one_or_many)
]


class ReportSpec(_Contract):
    """Which report a new job produces, and for whom."""

    rpt_id: Guid
    rpt_format: Name
    user_id: Guid
    comment: Comment | None = None
    rpt_name: Name | None = None

    @field_validator("rpt_format", mode="before")
    @classmethod
    def _upper_case_format(cls, value: object) -> object:
        # Before the length check: upper case can lengthen text ('ß' -> 'SS').
        return value.upper() if isinstance(value, str) else value


class KickoffEvent(_Contract):
    """A request to run a report job, new or known."""

    job_id: Guid
    mode: Mode = Mode.ACTIVE
    study_id: Guid | None = None
    field_specs_list: FieldSpecs = Field(default_factory=list)
    ext_field_specs_list: FieldSpecs = Field(default_factory=list)
    report: ReportSpec | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _absent_mode_is_active(cls, value: object) -> object:
        return Mode.ACTIVE.value if value is None else value


def parse_kickoff(raw: bytes | None) -> KickoffEvent:
    """Parse and validate the bytes of a kickoff event.

    Raises InvalidKickoff naming the first broken fields and their rules.
    """
    if raw is None:
        raise InvalidKickoff("the event has no value; send a JSON object")
    if len(raw) > MAX_KICKOFF_BYTES:
        raise InvalidKickoff(
            f"the event has {len(raw)} bytes, more than the {MAX_KICKOFF_BYTES} "
            "a kickoff may have; send fewer or shorter field values"
        )
    try:
        return KickoffEvent.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if errors[0]["type"] == "json_invalid":
            raise InvalidKickoff(
                "the value is not valid JSON: "
                + errors[0]["msg"].removeprefix("Invalid JSON: "),
                error_type="NotJson",
            ) from exc
        raise InvalidKickoff(describe_validation_errors(errors)) from exc


def describe_validation_errors(errors: list[ErrorDetails], limit: int = 5) -> str:
    """Name each broken field by its JSON path and the rule it breaks."""
    parts = [f"{_json_path(e['loc'])}: {_rule(e['msg'])}" for e in errors[:limit]]
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "; ".join(parts)


def _rule(message: str) -> str:
    message = message.removeprefix("Value error, ")
    if message == "Extra inputs are not permitted":
        return "unknown field; remove it or check its spelling"
    return message


def _json_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = part if len(part) <= 64 else part[:61] + "..."  # unknown keys
            path += f".{name}" if path else name
    return path or "(event)"
