"""Write one version's files create-only, commit with the manifest, or discard on failure.

Every put uses obstore's create mode (a conditional put on S3, an exclusive create locally),
so an object that already exists is never replaced: a racing publisher fails instead of
overwriting. The manifest goes last; until it exists, the version is not published. On failure
the files this writer put are deleted again (best effort: a killed process leaves them, and the
next publish of that number clears them).
"""

from __future__ import annotations

from typing import Any

import obstore
from obstore.exceptions import AlreadyExistsError

from dataproc.export.errors import VersionExistsError
from dataproc.export.layout import MANIFEST_NAME
from dataproc.export.manifest import FileEntry
from dataproc.export.versions import exists, list_objects


class VersionWriter:
    """Puts the files of the version folder `prefix` and remembers what it wrote."""

    def __init__(self, store: Any, prefix: str) -> None:
        self.store = store
        self.prefix = prefix
        self.entries: list[FileEntry] = []
        self.written: list[str] = []

    def ensure_empty(self) -> None:
        """Refuse to start when the folder already holds any object."""
        found = list_objects(self.store, self.prefix)
        if found:
            raise VersionExistsError(
                f"{self.prefix} already holds {len(found)} object(s), e.g. {found[0]!r}; "
                "a published version is never overwritten"
            )

    def _put(self, path: str, data: bytes) -> None:
        location = f"{self.prefix}/{path}"
        try:
            obstore.put(self.store, location, data, mode="create")
        except AlreadyExistsError as error:
            raise VersionExistsError(
                f"{location} already exists; another publisher is writing this version"
            ) from error
        self.written.append(location)

    def put(self, path: str, kind: str, rows: int, data: bytes) -> FileEntry:
        """Write a data file at the version-relative `path` and record its manifest entry."""
        self._put(path, data)
        entry = FileEntry.of(path, kind, rows, data)
        self.entries.append(entry)
        return entry

    def commit(self, manifest: bytes) -> None:
        """Write the manifest: from here on the version is published."""
        self._put(MANIFEST_NAME, manifest)

    def discard(self) -> None:
        """Delete what this writer put, unless the manifest made it a published version."""
        if not self.written or exists(self.store, f"{self.prefix}/{MANIFEST_NAME}"):
            return
        obstore.delete(self.store, self.written)
        self.written = []
