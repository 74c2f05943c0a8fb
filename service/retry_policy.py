"""When a failed attempt may run again: capped exponential backoff, full jitter."""

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 10.0
    cap_seconds: float = 900.0

    def is_final(self, attempt: int, *, retryable: bool) -> bool:
        """No retrial follows a terminal error or the last allowed attempt."""
        return not retryable or attempt >= self.max_attempts

    def delay_seconds(self, attempt: int, rng: random.Random | None = None) -> float:
        """A uniform delay up to min(cap, base * 2^(attempt-1))."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(attempt - 1, 0))
        return (rng or random).uniform(0, ceiling)
