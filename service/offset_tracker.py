"""Which offsets may be committed while records finish out of order.

Pure logic. Records of one partition start in offset order but finish in any
order (jobs run concurrently); an offset may be committed only when every
record before it has finished, so the commit point is the contiguous
finished prefix of each partition.
"""

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar


@dataclass
class PartitionOffsets:
    """The records of one partition in flight, and how far it is finished."""

    pending: set[int] = field(default_factory=set)
    next_offset: int | None = None
    """One past the highest offset started."""
    committed: int | None = None

    def start(self, offset: int) -> None:
        if self.next_offset is not None and offset < self.next_offset:
            raise ValueError(f"offset {offset} started after {self.next_offset - 1}")
        self.pending.add(offset)
        self.next_offset = offset + 1

    def finish(self, offset: int) -> None:
        self.pending.remove(offset)

    def committable(self) -> int | None:
        """The offset to commit (the next to read), if it moved since the last
        commit: the lowest unfinished offset, or one past the highest started."""
        if self.next_offset is None:
            return None
        point = min(self.pending) if self.pending else self.next_offset
        if self.committed is not None and point <= self.committed:
            return None
        return point


P = TypeVar("P", bound=Hashable)


class OffsetTracker(Generic[P]):
    """Tracks every assigned partition; `P` is the partition's identity."""

    def __init__(self) -> None:
        self._partitions: dict[P, PartitionOffsets] = {}

    def start(self, partition: P, offset: int) -> None:
        self._partitions.setdefault(partition, PartitionOffsets()).start(offset)

    def finish(self, partition: P, offset: int) -> None:
        tracked = self._partitions.get(partition)
        if tracked is not None:  # a revoked partition is forgotten: nothing to do
            tracked.finish(offset)

    def in_flight(self, partition: P | None = None) -> int:
        """Records started and not finished, in one partition or in all."""
        if partition is not None:
            tracked = self._partitions.get(partition)
            return len(tracked.pending) if tracked else 0
        return sum(len(p.pending) for p in self._partitions.values())

    def committable(self) -> dict[P, int]:
        """The offsets to commit now, by partition."""
        points = {p: o.committable() for p, o in self._partitions.items()}
        return {p: point for p, point in points.items() if point is not None}

    def committed(self, offsets: dict[P, int]) -> None:
        """Note that these offsets were committed."""
        for partition, offset in offsets.items():
            if partition in self._partitions:
                self._partitions[partition].committed = offset

    def forget(self, partition: P) -> None:
        """Drop a partition this member no longer owns."""
        self._partitions.pop(partition, None)
