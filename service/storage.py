"""Report files in object storage: a `file://` folder, S3, GCS or Azure.

Keys derive from the `fileStorageId` and the format's extension only, so no
input can steer where a file lands.
"""

import asyncio
import contextlib
import glob
import hashlib
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import obstore
from obstore.store import LocalStore, ObjectStore, from_url

from service.errors import ConfigurationError
from service.wire_types import normalize_guid

SCHEMES = ("file", "s3", "gs", "az")
_EXTENSION = re.compile(r"^[a-z0-9]{1,8}$")


@dataclass(frozen=True)
class StoredFile:
    key: str
    size_bytes: int
    sha256: str


def object_key(file_storage_id: str, extension: str) -> str:
    """`<32 hex digits>.<ext>`: the only key shape this service writes."""
    if not _EXTENSION.match(extension):
        raise ValueError(f"not a file extension: {extension!r}")
    return f"{normalize_guid(file_storage_id)}.{extension}"


class ReportStorage:
    """Writes, reads and deletes report files under one storage URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._store = _open_store(url)
        parsed = urlparse(url)
        self._folder = Path(unquote(parsed.path)) if parsed.scheme == "file" else None

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes]) -> StoredFile:
        """Stream `chunks` into `key`; only one chunk is held at a time."""
        digest = hashlib.sha256()
        size = 0

        async def measured() -> AsyncIterator[bytes]:
            nonlocal size
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                yield chunk

        await obstore.put_async(self._store, key, measured())
        return StoredFile(key, size, digest.hexdigest())

    async def read(self, key: str) -> bytes:
        result = await obstore.get_async(self._store, key)
        return bytes(await result.bytes_async())

    async def delete(self, key: str) -> None:
        """Delete `key`; a key that is already gone is not an error."""
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self._store, key)
        if self._folder is not None:
            await asyncio.to_thread(_delete_stages, self._folder, key)

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self._store, key)
        except FileNotFoundError:
            return False
        return True


def _delete_stages(folder: Path, key: str) -> None:
    """Remove the staging files of uploads of `key` that never completed.

    A local upload is staged as `<key>#<n>` and renamed when complete; a
    process killed mid-upload leaves the stage, which obstore will not list
    or delete.
    """
    for stage in folder.glob(glob.escape(key) + "#*"):
        stage.unlink(missing_ok=True)


def _open_store(url: str) -> ObjectStore:
    parsed = urlparse(url)
    if parsed.scheme not in SCHEMES:
        raise ConfigurationError(
            f"REPORTS_STORAGE_URL: scheme {parsed.scheme!r} is not supported; "
            "use file:///a/folder, s3://bucket, gs://bucket or az://container"
        )
    if parsed.scheme == "file":
        folder = Path(unquote(parsed.path))
        return LocalStore(folder, mkdir=True)
    return from_url(url)
