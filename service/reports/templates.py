"""Report templates: declarative `definitions/*.toml` files, one per report.

A template names its `rptId`, level (study or tenant), formats, the SQL source
of its rows, the columns shown with their labels, the default sort and the
fields a kickoff may filter by. Its source must return `study_id` and `mode`
columns: every report is scoped by them.
"""

import tomllib
from collections.abc import Iterator
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.errors import ConfigurationError
from service.kickoff import FieldType
from service.reports.search_spec import Filter, TemplateField
from service.reports.writers.base import ColumnKind, ReportColumn
from service.wire_types import Guid

Identifier = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=63)]
"""A SQL column name: the only text a template puts into a query unquoted."""


class Level(StrEnum):
    STUDY = "study"
    TENANT = "tenant"


class _TemplatePart(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_TemplatePart):
    name: Identifier
    label: str
    type: ColumnKind = ColumnKind.TEXT
    width: int = Field(default=32, ge=1, le=200)

    def to_report_column(self) -> ReportColumn:
        return ReportColumn(self.name, self.label, self.type, self.width)


class FieldDefinition(_TemplatePart):
    column: Identifier
    type: FieldType
    label: str
    guid: bool = False


class SortKey(_TemplatePart):
    column: Identifier
    descending: bool = False

    def __str__(self) -> str:
        return f"{self.column} {'DESC' if self.descending else 'ASC'}"


class ReportTemplate(_TemplatePart):
    """One report template, as loaded and checked from its file."""

    rpt_id: Guid
    name: str
    description: str
    level: Level
    formats: list[str]
    source: str
    columns: list[Column] = Field(min_length=1)
    sort: list[SortKey] = Field(min_length=1)
    fields: dict[str, FieldDefinition]

    def offered_fields(self) -> dict[str, TemplateField]:
        """The whitelist a kickoff's field specs are checked against."""
        return {
            name: TemplateField(name, d.column, d.type, d.guid)
            for name, d in self.fields.items()
        }

    def sort_spec(self) -> str:
        """The default sort as `currSortSpec`: `site_number ASC, ...`."""
        return ", ".join(str(key) for key in self.sort)

    def query(
        self, mode: str, study_id: str | None, filters: list[Filter]
    ) -> tuple[str, list[object]]:
        """The report's SQL and its parameters; values never enter the text."""
        params: list[object] = [mode]
        conditions = ["src.mode = $1"]
        if study_id is not None:
            params.append(study_id)
            conditions.append(f"src.study_id = ${len(params)}::uuid")
        for item in filters:
            condition, values = item.sql(len(params) + 1)
            conditions.append(condition)
            params.extend(values)
        selected = ", ".join(f"src.{c.name}" for c in self.columns)
        text = "\n".join(
            [
                "SELECT " + selected,
                "FROM (" + self.source.strip() + ") AS src",
                "WHERE " + " AND ".join(conditions),
                "ORDER BY " + ", ".join(f"src.{key}" for key in self.sort),
            ]
        )
        return text, params


class TemplateCatalogue:
    """The templates by `rptId`."""

    def __init__(self, templates: list[ReportTemplate]) -> None:
        self._by_id = {t.rpt_id: t for t in templates}
        if len(self._by_id) != len(templates):
            raise ConfigurationError("two report templates share one rptId")

    def get(self, rpt_id: str) -> ReportTemplate | None:
        return self._by_id.get(rpt_id)

    def __iter__(self) -> Iterator[ReportTemplate]:
        return iter(sorted(self._by_id.values(), key=lambda t: t.name))


@cache
def builtin_templates() -> TemplateCatalogue:
    """The templates shipped in `service/reports/definitions/`."""
    loaded = []
    for entry in resources.files("service.reports.definitions").iterdir():
        if not entry.name.endswith(".toml"):
            continue
        try:
            loaded.append(
                ReportTemplate.model_validate(tomllib.loads(entry.read_text()))
            )
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ConfigurationError(f"report template {entry.name}: {exc}") from exc
    return TemplateCatalogue(loaded)
