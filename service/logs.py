"""structlog set-up: JSON lines in production, readable lines on a terminal.

The libraries' own stdlib logging (aiokafka, asyncpg) goes through the same
renderer, so every line of the process has one format; a message a library
repeats in a loop (aiokafka's reconnect attempts while a broker is down) is
let through once per `THROTTLE_SECONDS`, with a count of what was held back.
"""

import logging
import sys
import time

import structlog

from service.settings import Settings

THROTTLE_SECONDS = 10.0


def configure_logging(settings: Settings) -> None:
    """Configure structlog and stdlib logging once, before the first line."""
    as_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not sys.stderr.isatty()
    )
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer()
    )
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[settings.log_level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    _route_library_logs(renderer, stamp)


def _route_library_logs(
    renderer: structlog.typing.Processor, stamp: structlog.typing.Processor
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                stamp,
            ],
        )
    )
    handler.addFilter(_Throttle(THROTTLE_SECONDS))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)


class _Throttle(logging.Filter):
    """Lets one record of each message template through per interval."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self._seconds = seconds
        self._last: dict[tuple[str, object], float] = {}
        self._held: dict[tuple[str, object], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        now = time.monotonic()
        if now - self._last.get(key, -self._seconds) < self._seconds:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it held back)"
        return True
