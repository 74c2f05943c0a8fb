"""All configuration, read once from `REPORTS_*` environment variables."""

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.errors import ConfigurationError

ENV_PREFIX = "REPORTS_"


def _default_storage_url() -> str:
    return (Path.cwd() / "reports").as_uri()


class Settings(BaseSettings):
    """Every setting has a working local default (the `make services` ones)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    database_url: str = "postgresql://reports:reports@127.0.0.1:15432/reports"
    kickoff_topic: str = "report.job.kickoff"
    completion_topic: str = "report.job.completed"
    dead_letter_topic: str = "report.job.kickoff.dlq"
    consumer_group: str = "report-worker"
    storage_url: str = Field(default_factory=_default_storage_url)
    topic_partitions: int = Field(default=3, ge=1, le=1000)
    topic_replication_factor: int = Field(default=1, ge=1, le=10)
    max_poll_records: int = Field(default=50, ge=1, le=10_000)
    max_in_flight: int = Field(default=4, ge=1, le=256)
    max_attempts: int = Field(default=5, ge=1, le=100)
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    relay_enabled: bool = True
    retrial_enabled: bool = True
    retrial_poll_seconds: float = Field(default=5.0, gt=0)
    lease_seconds: float = Field(default=300.0, gt=0)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    cloudevents_source: str = "/ec-reporting-svc/report-worker"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"


def load_settings() -> Settings:
    """Read the environment; a bad value names its variable and what it accepts."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            variable = ENV_PREFIX + str(error["loc"][0]).upper()
            problems.append(f"{variable}: {error['msg']}")
        raise ConfigurationError("; ".join(problems)) from exc
