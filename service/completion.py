"""The completion event published for every finished attempt of a job."""

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from service.execution_log import ExecutionLog, JobStatus
from service.wire_types import Guid


class ReportFile(BaseModel):
    """Where the finished report lies and how to check it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    file_storage_id: Guid
    content_type: str
    size_bytes: int
    sha256: str


class CompletionEvent(BaseModel):
    """Published once per transition to SUCCESS or FAILED."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    job_id: Guid
    status: JobStatus
    attempt: int
    final: bool
    execution_log: ExecutionLog
    file: ReportFile | None = None

    def to_json_bytes(self) -> bytes:
        """The event value; `file` is left out when there is none (FAILED)."""
        return self.model_dump_json(
            by_alias=True, exclude={"file"} if self.file is None else None
        ).encode()
