"""Turn a job's field specs into SQL conditions and the `currSearchSpec` text.

Pure logic. Field names are looked up in the template's whitelist; columns
come from the template file, values always travel as `$n` parameters.

One semantics per fieldType:
- list: the column equals any of the values;
- string: the column equals the value (any of them, when several);
- number: one value is equality, two an inclusive range;
- date, date-time: one value is that day or instant, two an inclusive range;
- boolean: one value, `true` or `false`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from service.errors import ReportFailed
from service.kickoff import FieldSpec, FieldType, Mode
from service.wire_types import format_time, normalize_guid

MAX_SEARCH_SPEC_LENGTH = 32_000

_SQL_ARRAY_TYPE = {
    FieldType.LIST: "text[]",
    FieldType.STRING: "text[]",
    FieldType.NUMBER: "numeric[]",
    FieldType.DATE: "date[]",
    FieldType.DATE_TIME: "timestamptz[]",
    FieldType.BOOLEAN: "boolean[]",
}


@dataclass(frozen=True)
class TemplateField:
    """A filterable field a template offers: its column and its type."""

    name: str
    column: str
    field_type: FieldType
    guid: bool = False


@dataclass(frozen=True)
class Filter:
    """One field spec, checked against its template field and parsed."""

    field: TemplateField
    values: tuple[Any, ...]
    sequence: int | None

    @property
    def is_range(self) -> bool:
        ranged = (FieldType.NUMBER, FieldType.DATE, FieldType.DATE_TIME)
        return self.field.field_type in ranged and len(self.values) == 2

    def sql(self, first_param: int) -> tuple[str, list[object]]:
        """The condition on `src.<column>`, numbering parameters from `first_param`."""
        column = f"src.{self.field.column}"
        if self.is_range:
            low, high = first_param, first_param + 1
            return f"{column} BETWEEN ${low} AND ${high}", list(self.values)
        array_type = (
            "uuid[]" if self.field.guid else _SQL_ARRAY_TYPE[self.field.field_type]
        )
        return f"{column} = ANY(${first_param}::{array_type})", [list(self.values)]

    def render(self) -> str:
        """Readable and canonical: `ruleState IN ('approved', 'published')`."""
        shown = [_quote(_show(value)) for value in self.values]
        if self.is_range:
            return f"{self.field.name} BETWEEN {shown[0]} AND {shown[1]}"
        if len(shown) == 1:
            return f"{self.field.name} = {shown[0]}"
        return f"{self.field.name} IN ({', '.join(shown)})"


def build_filters(
    offered: Mapping[str, TemplateField], specs: Sequence[FieldSpec], template: str
) -> list[Filter]:
    """Check every field spec against the template; the job fails on the first
    field the template does not offer or value that does not parse."""
    filters = [_build_filter(offered, spec, template) for spec in specs]
    return sorted(filters, key=_canonical_order)


def render_search_spec(
    mode: Mode, study_id: str | None, filters: Sequence[Filter]
) -> str:
    """The canonical text of the scope and filters a report ran with."""
    parts = [f"mode = {_quote(mode.value)}"]
    if study_id is not None:
        parts.append(f"studyId = {_quote(study_id)}")
    parts.extend(f.render() for f in filters)
    text = " AND ".join(parts)
    if len(text) > MAX_SEARCH_SPEC_LENGTH:
        raise ReportFailed(
            f"the filters render to a search spec of {len(text)} characters, "
            f"more than the {MAX_SEARCH_SPEC_LENGTH} an ExecutionLog holds; "
            "send fewer or shorter values"
        )
    return text


def _build_filter(
    offered: Mapping[str, TemplateField], spec: FieldSpec, template: str
) -> Filter:
    field = offered.get(spec.field_name)
    if field is None:
        names = ", ".join(sorted(offered)) or "none"
        raise ReportFailed(
            f"fieldSpecsList: field '{spec.field_name}' is not offered by "
            f"template '{template}' (it offers: {names})"
        )
    if spec.field_type is not field.field_type:
        raise ReportFailed(
            f"fieldSpecsList: field '{spec.field_name}' of template '{template}' "
            f"has fieldType '{field.field_type}', not '{spec.field_type}'"
        )
    values = tuple(_parse(field, value) for value in spec.values)
    _check_arity(field, len(values))
    if field.field_type in (FieldType.LIST, FieldType.STRING):
        values = tuple(sorted(set(values), key=str))
    return Filter(field, values, spec.field_sequence)


_MOST_VALUES = {
    FieldType.BOOLEAN: 1,
    FieldType.NUMBER: 2,
    FieldType.DATE: 2,
    FieldType.DATE_TIME: 2,
}  # list and string take any number of values


def _check_arity(field: TemplateField, count: int) -> None:
    most = _MOST_VALUES.get(field.field_type)
    if count >= 1 and (most is None or count <= most):
        return
    wanted = {None: "at least one value", 1: "exactly one value"}.get(
        most, "one value or two (an inclusive range)"
    )
    raise ReportFailed(
        f"fieldSpecsList: field '{field.name}' ({field.field_type}) takes "
        f"{wanted}, got {count}"
    )


def _parse(field: TemplateField, raw: str) -> Any:
    try:
        return _PARSERS[field.field_type](raw, field)
    except (ValueError, InvalidOperation):
        expected = "a GUID" if field.guid else _EXPECTED[field.field_type]
        raise ReportFailed(
            f"fieldSpecsList: value '{raw[:64]}' of field '{field.name}' is not "
            f"{expected}"
        ) from None


def _parse_text(raw: str, field: TemplateField) -> str:
    return normalize_guid(raw) if field.guid else raw


def _parse_number(raw: str, field: TemplateField) -> Decimal:
    number = Decimal(raw)
    if not number.is_finite():
        raise ValueError(raw)
    return number


def _parse_date(raw: str, field: TemplateField) -> date:
    return date.fromisoformat(raw)


def _parse_date_time(raw: str, field: TemplateField) -> datetime:
    instant = datetime.fromisoformat(raw)
    if instant.tzinfo is None:
        raise ValueError(raw)
    return instant.astimezone(UTC)


def _parse_boolean(raw: str, field: TemplateField) -> bool:
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise ValueError(raw)
    return lowered == "true"


_PARSERS = {
    FieldType.LIST: _parse_text,
    FieldType.STRING: _parse_text,
    FieldType.NUMBER: _parse_number,
    FieldType.DATE: _parse_date,
    FieldType.DATE_TIME: _parse_date_time,
    FieldType.BOOLEAN: _parse_boolean,
}

_EXPECTED = {
    FieldType.LIST: "a value",
    FieldType.STRING: "a value",
    FieldType.NUMBER: "a number (such as 42 or -3.5)",
    FieldType.DATE: "a date (YYYY-MM-DD)",
    FieldType.DATE_TIME: "a date-time with an offset (2025-10-27T10:00:00Z)",
    FieldType.BOOLEAN: "a boolean (true or false)",
}


def _canonical_order(f: Filter) -> tuple[int, str]:
    return (f.sequence if f.sequence is not None else 2**31, f.field.name)


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
