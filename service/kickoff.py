"""The kickoff event: what upstream systems send to start a report job."""

from enum import StrEnum
from typing import Annotated

from pydantic import (
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

from service.errors import InvalidKickoff
from service.wire_types import Guid

MAX_INT32 = 2_147_483_647
MAX_VALUE_LENGTH = 256


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


class _Contract(BaseModel):
    """Shared settings: camelCase names, strict JSON types, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        strict=True,
        extra="forbid",
        frozen=True,
    )


class IdValue(_Contract):
    """The object form of a field value: `{"id": "C36A..."}`."""

    id: Annotated[str, Field(min_length=1, max_length=256)]


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

    field_name: Annotated[str, Field(min_length=1, max_length=255)]
    field_type: FieldType
    field_sequence: Annotated[int, Field(ge=0, le=MAX_INT32)] | None = None
    field_value_list: list[FieldValue]

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


FieldSpecs = Annotated[list[FieldSpec], BeforeValidator(_one_or_many)]


class ReportSpec(_Contract):
    """Which report a new job produces, and for whom."""

    rpt_id: Guid
    rpt_format: Annotated[str, Field(min_length=1, max_length=255)]
    user_id: Guid
    comment: Annotated[str, Field(max_length=4000)] | None = None
    rpt_name: Annotated[str, Field(min_length=1, max_length=255)] | None = None

    @field_validator("rpt_format")
    @classmethod
    def _upper_case_format(cls, value: str) -> str:
        return value.upper()


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
    try:
        return KickoffEvent.model_validate_json(raw)
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            raise InvalidKickoff(
                "the value is not valid JSON: "
                + exc.errors()[0]["msg"].removeprefix("Invalid JSON: "),
                error_type="NotJson",
            ) from exc
        raise InvalidKickoff(describe_validation_error(exc)) from exc


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """Name each broken field by its JSON path and the rule it breaks."""
    errors = exc.errors(include_url=False, include_input=False)
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
            path += f".{part}" if path else str(part)
    return path or "(event)"
