"""Run every benchmark and print its table: `make bench` or `python -m bench`."""

import asyncio

from bench import formats, fuzz, pipeline

if __name__ == "__main__":
    asyncio.run(pipeline.main([]))
    formats.main([])
    asyncio.run(fuzz.main([]))
