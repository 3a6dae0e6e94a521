"""Read an image's bytes from the lake with one ranged read.

Tar shard members are read in place (offset and length from the catalog), never by
downloading the shard. A missing object becomes a `missing` rejection; any other failure
(network, permissions) raises, so the caller can retry instead of recording a good image as bad.
"""

from __future__ import annotations

from pathlib import Path

import obstore
from obstore.exceptions import NotFoundError

from dataproc.embed.refs import ImageRef
from dataproc.lake import is_s3


class InvalidRef(ValueError):
    """A ref whose uri lies outside the lake: a caller error, not a property of the image."""


class ImageMissing(Exception):
    """The referenced object (or the referenced range of it) does not exist."""


def store_path(uri: str, root: str) -> str:
    """The path of `uri` inside the store rooted at `root`.

    `uri` may already be relative (`shards/danbooru/000000.tar`), or a full S3 URL, `file://`
    URL or local path under the lake root.
    """
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    root = root.rstrip("/")
    if is_s3(root) or is_s3(uri):
        if uri.startswith(root + "/"):
            return uri[len(root) + 1 :]
        if is_s3(uri):
            raise InvalidRef(f"{uri} is not under the lake root {root}")
        return uri.lstrip("/")
    if Path(uri).is_absolute():
        resolved = Path(uri).resolve()
        base = Path(root).resolve()
        if not resolved.is_relative_to(base):
            raise InvalidRef(f"{uri} is not under the lake root {root}")
        return resolved.relative_to(base).as_posix()
    return uri.removeprefix("./")


def fetch_bytes(store: obstore.store.ObjectStore, path: str, ref: ImageRef) -> bytes:
    """The bytes of `ref` at `path` in `store`: `length` bytes from `offset`, or to the end.

    Zero-length refs return `b""` without a request (zero-byte files are common and a
    zero-length range is an error for object stores).
    """
    if ref.length == 0:
        return b""
    try:
        if ref.length is None:
            if ref.offset == 0:
                return bytes(obstore.get(store, path).bytes())
            size = obstore.head(store, path)["size"]
            if ref.offset >= size:
                return b""
            return bytes(obstore.get_range(store, path, start=ref.offset, end=size))
        return bytes(obstore.get_range(store, path, start=ref.offset, length=ref.length))
    except (FileNotFoundError, NotFoundError) as error:
        raise ImageMissing(path) from error
    except Exception:
        if _range_past_end(store, path, ref.offset):
            raise ImageMissing(f"{path} has no byte {ref.offset}") from None
        raise


def _range_past_end(store: obstore.store.ObjectStore, path: str, offset: int) -> bool:
    """Whether the object exists but ends before `offset` (a stale or wrong catalog entry)."""
    try:
        return offset >= obstore.head(store, path)["size"]
    except Exception:
        return False
