"""Report writers: one module per output format, all streaming.

A writer turns batches of rows into chunks of bytes as they arrive, so a
report of any size passes through the worker in bounded memory.
"""

from service.reports.writers.base import ReportHeader, ReportWriter, Row
from service.reports.writers.csv_writer import CsvWriter
from service.reports.writers.html_writer import HtmlWriter
from service.reports.writers.pdf_writer import PdfWriter
from service.reports.writers.xlsx_writer import XlsxWriter
from service.reports.writers.xpt_writer import XptWriter

_ALL: list[ReportWriter] = [
    CsvWriter(),
    XlsxWriter(),
    PdfWriter(),
    HtmlWriter(),
    XptWriter(),
]
WRITERS: dict[str, ReportWriter] = {writer.format: writer for writer in _ALL}

__all__ = ["WRITERS", "ReportHeader", "ReportWriter", "Row", "writer_for"]


def writer_for(report_format: str) -> ReportWriter | None:
    """The writer of a format name (`CSV`, ...), or None when there is none."""
    return WRITERS.get(report_format.upper())
