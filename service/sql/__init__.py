"""Named SQL statements, kept in `sql/*.sql` files and loaded once.

A file holds blocks that start with `-- name: <name>` followed by a one-line
`-- <description>`; values are always `$n` parameters.
"""

import re
from functools import cache
from importlib import resources

_BLOCK = re.compile(r"^-- name: (\w+)\n", re.MULTILINE)


def parse_statements(text: str) -> dict[str, str]:
    """Split a .sql file into its named statements."""
    parts = _BLOCK.split(text)
    return {
        name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)
    }


@cache
def statements(module: str) -> dict[str, str]:
    """The named statements of `service/sql/<module>.sql`."""
    text = resources.files(__name__).joinpath(f"{module}.sql").read_text()
    return parse_statements(text)
