"""Completion events, CloudEvents headers and dead-letter headers."""

import json

from aiokafka.structs import ConsumerRecord

from service.cloudevents import CloudEvent, header_value
from service.completion import CompletionEvent, ReportFile
from service.dead_letter import dead_letter_headers, dead_letter_id
from service.errors import InvalidKickoff
from service.execution_log import JobStatus
from tests.helpers import JOB_ID, REFERENCE_TIME, execution_log


def test_failed_completion_has_no_file_and_every_log_field() -> None:
    event = CompletionEvent(
        job_id=JOB_ID,
        status=JobStatus.FAILED,
        attempt=1,
        final=True,
        execution_log=execution_log(JobStatus.FAILED, version=3),
    )
    document = json.loads(event.to_json_bytes())
    assert "file" not in document
    assert set(document["executionLog"]) == {
        "id", "objectVersionNumber", "rptId", "rptName", "rptFormat", "rptStatCd",
        "rptKickoffDatetime", "userId", "comment", "currSearchSpec", "currSortSpec",
        "fileStorageId", "recCount", "runDuration", "operationType", "reason",
        "softwareVersionNumber", "versionStart", "versionEnd",
    }  # fmt: skip
    assert document["executionLog"]["versionStart"] == "2025-10-27T10:00:00.123Z"
    assert document["executionLog"]["versionEnd"] == "3099-12-31T00:00:00.000Z"


def test_success_completion_names_its_file() -> None:
    event = CompletionEvent(
        job_id=JOB_ID,
        status=JobStatus.SUCCESS,
        attempt=2,
        final=True,
        execution_log=execution_log(JobStatus.SUCCESS, version=3),
        file=ReportFile(
            file_storage_id="c36a3197-fdee-433f-b554-7ee83de99e4b",
            content_type="text/csv",
            size_bytes=10,
            sha256="ab",
        ),
    )
    document = json.loads(event.to_json_bytes())
    assert document["file"]["fileStorageId"] == "C36A3197FDEE433FB5547EE83DE99E4B"
    assert document["attempt"] == 2


def test_cloudevent_headers_are_binary_mode() -> None:
    headers = CloudEvent(
        id="X",
        type="t",
        source="/s",
        time=REFERENCE_TIME,
        subject=JOB_ID,
        traceparent="00-a-b-01",
    ).headers()
    assert dict(headers) == {
        "ce_specversion": b"1.0",
        "ce_id": b"X",
        "ce_source": b"/s",
        "ce_type": b"t",
        "ce_time": b"2025-10-27T10:00:00.123Z",
        "content-type": b"application/json",
        "ce_subject": JOB_ID.encode(),
        "traceparent": b"00-a-b-01",
    }


def test_dead_letter_headers_carry_reason_and_coordinates() -> None:
    record = ConsumerRecord(
        topic="kick",
        partition=2,
        offset=41,
        timestamp=0,
        timestamp_type=0,
        key=JOB_ID.lower().encode(),
        value=b"nope",
        checksum=None,
        serialized_key_size=32,
        serialized_value_size=4,
        headers=(("traceparent", b"00-abc-def-01"),),
    )
    error = InvalidKickoff("the value is not valid JSON", error_type="NotJson")
    headers = dead_letter_headers(record, error, "/src")
    assert header_value(headers, "error.type") == "NotJson"
    assert header_value(headers, "error.message") == "the value is not valid JSON"
    assert header_value(headers, "original.topic") == "kick"
    assert header_value(headers, "original.partition") == "2"
    assert header_value(headers, "original.offset") == "41"
    assert header_value(headers, "ce_subject") == JOB_ID
    assert header_value(headers, "traceparent") == "00-abc-def-01"
    assert header_value(headers, "ce_id") == dead_letter_id("kick", 2, 41)
    assert header_value(headers, "content-type") == "application/octet-stream"
