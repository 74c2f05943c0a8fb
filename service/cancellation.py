"""Whether the running task is being cancelled, whatever it is awaiting now."""

import asyncio


def being_cancelled() -> bool:
    """True once a cancel was requested for the current task.

    A cancellation can reach code as another exception (a driver's cleanup
    failing on the way out) or be swallowed by an inner task; this asks the
    task itself.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
