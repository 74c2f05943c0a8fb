"""The ExecutionLog: one version of a report job's record, as the API names it."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from service.wire_types import Guid, UtcTime


class JobStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


class OperationType(StrEnum):
    INSERT = "INSERT"
    UPDATE = "UPDATE"
    DELETE = "DELETE"  # a version that records the deletion of the report file


class ExecutionLog(BaseModel):
    """One version of a job's ExecutionLog; every field of the reference page."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True
    )

    id: Guid
    object_version_number: int
    rpt_id: Guid | None
    rpt_name: Annotated[str, Field(max_length=255)]
    rpt_format: Annotated[str, Field(max_length=255)]
    rpt_stat_cd: JobStatus
    rpt_kickoff_datetime: UtcTime
    user_id: Guid
    comment: Annotated[str, Field(max_length=4000)] | None = None
    curr_search_spec: Annotated[str, Field(max_length=32000)] | None = None
    curr_sort_spec: Annotated[str, Field(max_length=512)] | None = None
    file_storage_id: Guid | None = None
    rec_count: int | None = None
    run_duration: int | None = None
    operation_type: Annotated[str, Field(max_length=1024)] | None = None
    reason: Annotated[str, Field(max_length=4000)] | None = None
    software_version_number: float | None = None
    version_start: UtcTime
    version_end: UtcTime

    def to_json(self) -> dict[str, object]:
        """Every field, camelCase, in the contract's GUID and time formats."""
        return self.model_dump(mode="json", by_alias=True)
