"""Report-job worker: kickoff events in, ExecutionLogs and report files out."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("report-worker")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
