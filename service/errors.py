"""The service's exceptions, classified by what the caller should do next."""


class ServiceError(Exception):
    """Base of every error this service raises on purpose.

    `retryable` says whether the same work may succeed when tried again later
    (a database, broker or storage outage) or never will (bad input).
    """

    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(ServiceError):
    """A setting is missing or malformed; the message names the variable."""


class BadInput(ServiceError):
    """Input that can never be accepted as it is: the caller must change it."""


class InvalidKickoff(BadInput):
    """A kickoff event breaks the contract; it belongs on the dead-letter topic."""

    def __init__(self, message: str, *, error_type: str = "ValidationError") -> None:
        super().__init__(message)
        self.error_type = error_type


class JobNotFound(ServiceError):
    """No ExecutionLog exists for the job id asked about."""


class ReportFailed(ServiceError):
    """A report could not be produced; `reason` goes into the ExecutionLog."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.retryable = retryable


class VersionConflict(ServiceError):
    """A transition lost the optimistic version race and changed nothing."""

    def __init__(self, job_id: str, expected_version: int) -> None:
        super().__init__(
            f"job {job_id} is no longer at version {expected_version}; "
            "another worker moved it on, so this write was dropped"
        )
        self.job_id = job_id
        self.expected_version = expected_version
