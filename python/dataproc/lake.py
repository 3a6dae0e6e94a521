"""The lake, and the one door to it: `Lake`.

The lake root is a deployment fact (`DATAPROC_LAKE`, default `./lake`): a local directory or
`s3://bucket/prefix`. S3 credentials and endpoint come from the standard `AWS_*` variables;
DuckDB secrets and obstore stores are both built from `S3Settings`, so the two never disagree.

Every stage reads and writes the lake through `Lake`, with paths relative to its root: listing,
ranged gets, create-only or overwrite puts, parquet with one pinned writer configuration,
sha256, `swap` (a compare-and-swap put), and `commit` (the files first, the manifest last).
A create-only put that finds exactly its own bytes already there succeeds: that is a retried
write whose first reply was lost, not a rival writer. Parquet is always read through a
seekable reader over the object (ranged reads), never from a whole in-memory buffer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq

DEFAULT_LAKE = "lake"
PutMode = Literal["create", "overwrite"]
# Row groups small enough for loaders that read one row group at a time (HF `datasets`).
ROW_GROUP_SIZE = 10_000
# For state files, which are only ever read whole: fewer, larger row groups encode in about half
# the time and decode faster (the identity assignment at 5.3M keys: 0.7 s against 1.3 s).
WHOLE_READ_ROW_GROUP_SIZE = 1 << 20
_STREAM_CHUNK = 8 << 20
PUT_ATTEMPTS = 4  # a put whose connection broke is sent again (see Lake.put)


def lake_root(env: Mapping[str, str] | None = None) -> str:
    """The lake root: `DATAPROC_LAKE` or `./lake`, without a trailing slash."""
    env = os.environ if env is None else env
    return (env.get("DATAPROC_LAKE") or DEFAULT_LAKE).rstrip("/")


def is_s3(url: str) -> bool:
    return url.startswith("s3://")


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/prefix/x` -> (`bucket`, `prefix/x`)."""
    parsed = urlparse(url)
    return parsed.netloc, parsed.path.lstrip("/")


@dataclass(frozen=True)
class S3Settings:
    """S3 connection facts read from the standard AWS environment variables."""

    access_key_id: str | None
    secret_access_key: str | None
    region: str
    endpoint_url: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Settings:
        env = os.environ if env is None else env
        return cls(
            access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        )

    @property
    def use_ssl(self) -> bool:
        return self.endpoint_url is None or not self.endpoint_url.startswith("http://")

    @property
    def endpoint_host(self) -> str | None:
        """`host:port` of a custom endpoint (DuckDB wants no scheme)."""
        if self.endpoint_url is None:
            return None
        parsed = urlparse(self.endpoint_url)
        return parsed.netloc or parsed.path

    def duckdb_secret_sql(self, name: str = "dataproc_s3") -> str:
        """A `CREATE SECRET` statement for DuckDB's httpfs."""
        options = ["type s3", f"region '{self.region}'"]
        if self.access_key_id:
            options.append(f"key_id '{self.access_key_id}'")
        if self.secret_access_key:
            options.append(f"secret '{self.secret_access_key}'")
        if self.endpoint_host:
            # Custom endpoints (MinIO, moto, ...) use path-style URLs.
            options += [f"endpoint '{self.endpoint_host}'", "url_style 'path'"]
        options.append(f"use_ssl {'true' if self.use_ssl else 'false'}")
        return f"create or replace secret {name} ({', '.join(options)})"

    def obstore_config(self) -> dict[str, str]:
        config = {"region": self.region}
        if self.access_key_id:
            config["access_key_id"] = self.access_key_id
        if self.secret_access_key:
            config["secret_access_key"] = self.secret_access_key
        if self.endpoint_url:
            config["endpoint"] = self.endpoint_url
            config["virtual_hosted_style_request"] = "false"
            if not self.use_ssl:
                config["allow_http"] = "true"
        return config


def open_store(root: str, env: Mapping[str, str] | None = None):
    """An obstore store rooted at the lake (local directory or `s3://bucket/prefix`)."""
    from obstore.store import LocalStore, S3Store

    if is_s3(root):
        bucket, prefix = split_s3_url(root)
        config = S3Settings.from_env(env).obstore_config()
        return S3Store(bucket, prefix=prefix or None, config=config)
    Path(root).mkdir(parents=True, exist_ok=True)
    return LocalStore(str(Path(root).resolve()))


def httpfs_extension_path() -> Path:
    """The httpfs extension file shipped by the `duckdb-extension-httpfs` wheel."""
    import duckdb
    import duckdb_extension_httpfs

    base = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    exact = base / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if exact.exists():
        return exact
    found = sorted(base.glob("v*/httpfs.duckdb_extension"))
    if not found:
        raise FileNotFoundError(f"no httpfs.duckdb_extension under {base}")
    return found[-1]


def sha256(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def parquet_bytes(table: pa.Table, row_group_size: int = ROW_GROUP_SIZE) -> bytes:
    """`table` as parquet with the project's one pinned writer configuration.

    Every option that changes bytes is fixed (compression and level, page sizes, format
    version; row groups by the caller's constant), and Arrow's writer stores no timestamps, so
    equal tables give byte-identical files with the same pyarrow version.
    """
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        row_group_size=row_group_size,
        version="2.6",
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        write_statistics=True,
        data_page_size=1 << 20,
        data_page_version="1.0",
        write_page_index=False,
        store_schema=True,
    )
    return sink.getvalue()


def canonical_json(value: Any, indent: int | None = 2) -> bytes:
    """JSON with sorted keys and a final newline: equal values give equal bytes."""
    return (json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class LakeObject:
    """One listed object: its lake-relative path, size in bytes, etag (if the store has one)
    and the store's time of its last write."""

    path: str
    size: int
    etag: str | None = None
    last_modified: dt.datetime | None = None

    @classmethod
    def of(cls, meta: Mapping[str, Any]) -> LakeObject:
        return cls(
            path=meta["path"],
            size=int(meta["size"]),
            etag=meta.get("e_tag"),
            last_modified=meta.get("last_modified"),
        )


class _ObjectFile(io.RawIOBase):
    """A seekable, read-only file over one object: every read is a ranged get."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = bytes(self._reader.read(len(buffer)))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._reader.seek(offset, whence)

    def tell(self) -> int:
        return self._reader.tell()

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


class Lake:
    """The lake at `root` (a directory or `s3://bucket/prefix`); every path is relative to it."""

    def __init__(self, root: str | None = None, env: Mapping[str, str] | None = None) -> None:
        self.root = (root or lake_root(env)).rstrip("/")
        self.store = open_store(self.root, env)

    def __repr__(self) -> str:
        return f"Lake({self.root!r})"

    @property
    def is_s3(self) -> bool:
        return is_s3(self.root)

    def url(self, path: str) -> str:
        """The full location of `path`, as DuckDB and users name it."""
        return f"{self.root}/{path.lstrip('/')}"

    # -- listing -------------------------------------------------------------------------------
    def list(self, prefix: str) -> list[LakeObject]:
        """Every object under the folder `prefix` (recursively), sorted by path."""
        import obstore

        prefix = prefix.strip("/")
        found = [
            LakeObject.of(meta)
            for batch in obstore.list(self.store, prefix + "/" if prefix else None, chunk_size=1000)
            for meta in batch
        ]
        return sorted(found, key=lambda obj: obj.path)

    def folders(self, prefix: str) -> list[str]:
        """Names of the folders directly under `prefix`, sorted."""
        import obstore

        listing = obstore.list_with_delimiter(self.store, prefix.strip("/") or None)
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in listing["common_prefixes"])

    def exists(self, path: str) -> bool:
        return self.head(path) is not None

    def head(self, path: str) -> LakeObject | None:
        """The object at `path`, or None when there is none."""
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            meta = obstore.head(self.store, path)
        except (FileNotFoundError, NotFoundError):
            return None
        return LakeObject.of(meta)

    # -- reading -------------------------------------------------------------------------------
    def get(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        """The object's bytes, or `[start, end)` of them; FileNotFoundError when absent."""
        import obstore
        from obstore.exceptions import NotFoundError

        try:
            if start is None and end is None:
                return bytes(obstore.get(self.store, path).bytes())
            if start is None or end is None or start < 0 or end < start:
                raise ValueError(f"{path}: bad byte range [{start}, {end})")
            if start == end:
                return b""
            return bytes(obstore.get_range(self.store, path, start=start, end=end))
        except (FileNotFoundError, NotFoundError) as error:
            raise FileNotFoundError(f"{self.url(path)} does not exist") from error

    def get_ranges(
        self, path: str, starts: list[int], ends: list[int], coalesce: int = 4096
    ) -> list[bytes]:
        """Several ranges `[start, end)` of one object. Ranges closer than `coalesce` bytes share
        a request, so a tar member and the header gap before the next come together, while
        far-apart bytes are never read along."""
        import obstore
        from obstore.exceptions import NotFoundError

        if not starts:
            return []
        try:
            parts = obstore.get_ranges(
                self.store, path, starts=starts, ends=ends, coalesce=coalesce
            )
        except (FileNotFoundError, NotFoundError) as error:
            raise FileNotFoundError(f"{self.url(path)} does not exist") from error
        return [bytes(part) for part in parts]

    def get_json(self, path: str) -> Any | None:
        """The JSON object at `path`, or None when absent."""
        try:
            return json.loads(self.get(path))
        except FileNotFoundError:
            return None

    def open(self, path: str) -> io.RawIOBase:
        """A seekable read-only file over the object (ranged reads; nothing held whole)."""
        import obstore

        return _ObjectFile(obstore.open_reader(self.store, path))

    def read_parquet(
        self, path: str, columns: list[str] | None = None, sha256: str | None = None
    ) -> pa.Table:
        """The parquet object at `path`; with `sha256`, checked against that digest first.

        A checked object is streamed once to a scratch file, hashed on the way and read from
        there, so it is fetched once and never held whole in memory.
        """
        if sha256 is None:
            with self.open(path) as file:
                return pq.ParquetFile(file).read(columns=columns)
        with tempfile.TemporaryDirectory(prefix="dataproc-") as scratch:
            local = Path(scratch) / "object.parquet"
            if self.download(path, local) != sha256:
                raise ValueError(f"{self.url(path)}: sha256 does not match its manifest")
            return pq.ParquetFile(local).read(columns=columns)

    def iter_parquet(self, path: str, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        """The object's record batches, read one row group at a time."""
        with self.open(path) as file:
            yield from pq.ParquetFile(file).iter_batches(batch_size=batch_size)

    def download(self, path: str, local: Path) -> str:
        """Stream the object to the local file `local`; returns its sha256."""
        import obstore

        digest = hashlib.sha256()
        with local.open("wb") as out:
            for chunk in obstore.get(self.store, path):
                view = memoryview(chunk)
                digest.update(view)
                out.write(view)
        return digest.hexdigest()

    # -- writing -------------------------------------------------------------------------------
    def put(self, path: str, data: bytes | Path, mode: PutMode = "overwrite") -> str:
        """Write one whole object (atomic: a reader sees the old object or the new one).

        `create` refuses to replace an existing object (FileExistsError), unless that object
        holds exactly these bytes: a retry of this write whose first reply was lost. Returns
        the sha256 of what was written.
        """
        import obstore
        from obstore.exceptions import AlreadyExistsError, GenericError, PreconditionError

        digest = _file_sha256(data) if isinstance(data, Path) else sha256(data)
        for attempt in range(PUT_ATTEMPTS):
            try:
                obstore.put(self.store, path, data, mode=mode)
                return digest
            except (AlreadyExistsError, PreconditionError) as error:
                if self.digest(path) == digest:
                    return digest
                raise FileExistsError(f"{self.url(path)} already exists") from error
            except GenericError:
                # obstore does not retry a conditional PUT whose connection broke: the write may
                # have landed. Retrying is safe here, since `create` recognises its own bytes.
                if attempt + 1 == PUT_ATTEMPTS:
                    raise
                time.sleep(0.05 * 2**attempt)
        return digest

    def digest(self, path: str) -> str | None:
        """The sha256 of the object at `path` (streamed), or None when there is none."""
        import obstore
        from obstore.exceptions import NotFoundError

        digest = hashlib.sha256()
        try:
            for chunk in obstore.get(self.store, path):
                digest.update(memoryview(chunk))
        except (FileNotFoundError, NotFoundError):
            return None
        return digest.hexdigest()

    def swap(self, path: str, data: bytes, expected: LakeObject | None) -> bool:
        """Compare-and-swap: write `data` only if `path` still is `expected` (None: absent).

        Returns False, writing nothing, when another writer changed the object first; True when
        `data` is there now (a retried swap whose first reply was lost finds its own bytes). On
        S3 the condition is the object's etag; a local lake holds an exclusive lock on the
        folder for the check and the write.
        """
        if self.is_s3:
            return self._swap_s3(path, data, expected)
        folder = (Path(self.root) / path).resolve().parent
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            current = self.head(path)
            if (current and current.etag) != (expected and expected.etag):
                return self.digest(path) == sha256(data)
            self.put(path, data, mode="overwrite")
            return True
        finally:
            os.close(descriptor)  # closing releases the lock

    def _swap_s3(self, path: str, data: bytes, expected: LakeObject | None) -> bool:
        import obstore
        from obstore.exceptions import AlreadyExistsError, PreconditionError

        mode: Any = "create" if expected is None else {"e_tag": expected.etag}
        try:
            obstore.put(self.store, path, data, mode=mode)
        except (AlreadyExistsError, PreconditionError):
            return self.digest(path) == sha256(data)
        return True

    def put_parquet(self, path: str, table: pa.Table, mode: PutMode = "overwrite") -> str:
        """Write `table` with the pinned writer configuration; returns its sha256."""
        return self.put(path, parquet_bytes(table), mode=mode)

    def put_json(self, path: str, value: Any, mode: PutMode = "overwrite") -> str:
        return self.put(path, canonical_json(value), mode=mode)

    def delete(self, paths: Iterable[str]) -> None:
        """Delete the objects at `paths`; in a local lake, folders left empty go too, as on S3."""
        import obstore

        paths = sorted(paths)
        if not paths:
            return
        obstore.delete(self.store, paths)
        if self.is_s3:
            return
        root = Path(self.root).resolve()
        folders = {
            parent for path in paths for parent in (root / path).parents if root in parent.parents
        }
        for folder in sorted(folders, key=lambda folder: len(folder.parts), reverse=True):
            with contextlib.suppress(OSError):  # not empty, or already gone
                folder.rmdir()

    def commit(
        self,
        files: Mapping[str, bytes | Path],
        manifest_path: str,
        manifest: Mapping[str, Any],
        mode: PutMode = "overwrite",
    ) -> dict[str, Any]:
        """Write `files` (lake path -> bytes or a local file), then the manifest, last.

        The manifest is the commit point: a reader that follows it never sees a partial write.
        The manifest written is `manifest` with `sha256` (path -> digest) added, and is
        returned. `mode` applies to every put, the manifest's included.
        """
        digests = {path: self.put(path, data, mode=mode) for path, data in files.items()}
        committed = {**manifest, "sha256": dict(sorted(digests.items()))}
        self.put_json(manifest_path, committed, mode=mode)
        return committed


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(_STREAM_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
