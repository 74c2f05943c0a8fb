import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from service.logs import configure_logging
from service.settings import Settings


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the test session's logging back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


@pytest.mark.usefixtures("restored_logging")
def test_library_logs_share_the_json_format_and_repeats_are_held_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(Settings(log_format="json"))
    library = logging.getLogger("aiokafka.conn")
    for _ in range(50):
        library.error("Unable connect to node with id %s", 1)
    structlog.get_logger("test").info("job_claimed", job_id="A", offset=7)

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["event"] == "Unable connect to node with id 1"
    assert lines[0]["logger"] == "aiokafka.conn"
    assert lines[-1] == {
        "event": "job_claimed",
        "job_id": "A",
        "offset": 7,
        "level": "info",
        "timestamp": lines[-1]["timestamp"],
    }
    assert len(lines) == 2
