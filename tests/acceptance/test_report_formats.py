"""Every format, through the worker, opened by an independent reader."""

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import openpyxl
import pyreadstat
import pytest
from pypdf import PdfReader

from service.settings import Settings
from tests.helpers import completions, kickoff, publish, running_worker

pytestmark = pytest.mark.acceptance

EXT_LABEL = "Approved or published (display label)"
RULE_NAME = re.compile(r"\b(?:Demographics|Vital Signs|Adverse Events|Labs|Dosing)"
                       r" check \d{3}\b")  # fmt: skip


def csv_rows(path: Path) -> tuple[int, str]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return len(rows) - 1, ",".join(rows[0])


def xlsx_rows(path: Path) -> tuple[int, str]:
    book = openpyxl.load_workbook(path, read_only=True)
    data, text = 0, []
    for sheet in book.worksheets:
        in_table = False
        for row in sheet.iter_rows(values_only=True):
            cells = [str(c) for c in row if c is not None]
            text.extend(cells)
            if in_table and cells:
                data += 1
            in_table = in_table or cells[:2] == ["Study", "Rule"]
    return data, " ".join(text)


def pdf_rows(path: Path) -> tuple[int, str]:
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    return len(set(RULE_NAME.findall(text))), text


class _Table(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_body = False
        self.rows = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.in_body = self.in_body or tag == "tbody"
        self.rows += tag == "tr" and self.in_body

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_rows(path: Path) -> tuple[int, str]:
    parser = _Table()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.rows, " ".join(parser.text)


def xpt_rows(path: Path) -> tuple[int, str]:
    _, meta = pyreadstat.read_xport(str(path), output_format="dict")
    labels = [label or "" for label in meta.column_labels]
    return meta.number_rows or 0, " ".join([meta.file_label or "", *labels])


READERS = {
    "CSV": ("csv", csv_rows, False),
    "XLSX": ("xlsx", xlsx_rows, True),
    "PDF": ("pdf", pdf_rows, True),
    "HTML": ("html", html_rows, True),
    "XPT": ("xpt", xpt_rows, False),
}


@pytest.mark.parametrize("report_format", list(READERS))
async def test_each_format_is_read_back_with_rec_count_rows(
    settings: Settings, report_format: str
) -> None:
    document = kickoff()
    document["report"]["rptFormat"] = report_format.lower()
    document["fieldSpecsList"][0]["fieldValueList"] = ["approved", "published"]
    document["extFieldSpecsList"] = [
        {"fieldName": "Rule state", "fieldType": "list", "fieldValueList": [EXT_LABEL]}
    ]
    async with running_worker(settings):
        await publish(settings, document)
        (record,) = await completions(settings, 1)

    event = json.loads(record.value)
    assert event["status"] == "SUCCESS", event["executionLog"]["reason"]
    extension, read, shows_header = READERS[report_format]
    folder = Path(urlparse(settings.storage_url).path)
    path = folder / f"{event['executionLog']['fileStorageId']}.{extension}"
    rows, text = read(path)
    assert rows == event["executionLog"]["recCount"] > 0
    assert event["file"]["sizeBytes"] == path.stat().st_size
    assert "Rule" in text
    if shows_header:
        assert EXT_LABEL in text
