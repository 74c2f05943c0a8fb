"""Run every benchmark and print its table."""

import asyncio

from bench import pipeline

if __name__ == "__main__":
    asyncio.run(pipeline.main())
