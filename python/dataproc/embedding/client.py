"""Embed image refs through sidecars, or in-process when none is configured.

In: `EmbedSettings` and image refs, or a stream of chunks of refs. Out: the engine's result
table (`contract.result_schema`), one row per ref in input order, or one table per chunk, in
chunk order (`embed_all`). `open_embedder(settings)` gives the backend the pipeline uses:

- with `DATAPROC_EMBEDDER_URLS` set, a `RemoteEmbedder`: every chunk is cut into requests of
  `chunk_size` refs, and requests from many chunks are in flight at once, `requests_per_url`
  per replica; request `i` starts at replica `i mod n`, so consecutive requests land on
  different replicas. A request that fails (connection refused, timeout, 5xx) goes to the next
  replica, with exponential backoff once every replica has been tried; a 4xx is the request's
  own fault, which every replica would refuse alike, so it fails at once with the sidecar's
  message. One URL may also be a load balancer over many replicas (`dataproc embedder
  serve-ray`): give `requests_per_url` the replica count times two.
- with no URL, the same engine in this process.

A request's answer depends only on its refs (the sidecar batches within a request), so the
result is the same whichever replica serves it and however many run at once. The wire format,
both ways, is one Arrow IPC stream.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields
from typing import Any, Protocol

import httpx
import pyarrow as pa

from dataproc.embedding.contract import EmbedSettings, ModelInfo, result_schema
from dataproc.embedding.decode import ImageRef, Refs, as_refs, refs_to_table

ARROW_STREAM_MEDIA_TYPE = "application/vnd.apache.arrow.stream"
# The server's trouble, and the two 4xx that mean "try again later" (timeout, overload).
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class EmbedderError(RuntimeError):
    """Sidecars refused a request (auth, limits), disagree on the model, or none could serve."""


class EmbedBackend(Protocol):
    """What the pipeline uses: the model's identity, refs -> embeddings table, and a stream of
    chunks of refs -> one embeddings table per chunk, in order."""

    @property
    def info(self) -> ModelInfo: ...

    def embed(self, refs: Refs) -> pa.Table: ...

    def embed_all(self, chunks: Iterable[Refs]) -> Iterator[pa.Table]: ...

    def close(self) -> None: ...


class RemoteEmbedder:
    """A client for one or more sidecars serving the same model."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        token: str | None = None,
        chunk_size: int = 256,
        timeout_s: float = 600.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        requests_per_url: int = 2,
    ) -> None:
        if not urls:
            raise ValueError("RemoteEmbedder needs at least one URL")
        if chunk_size < 1 or requests_per_url < 1:
            raise ValueError("chunk_size and requests_per_url must be at least 1")
        self._urls = [url.rstrip("/") for url in urls]
        self._chunk_size = chunk_size
        self._rounds = retries + 1
        self._backoff_s = backoff_s
        self._workers = len(self._urls) * requests_per_url
        self._request_numbers = itertools.count()
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=self._workers),
        )
        self._info: ModelInfo | None = None

    @property
    def info(self) -> ModelInfo:
        """The served model, from `/info` on every reachable replica (they must agree)."""
        if self._info is None:
            self._info = self._fetch_info()
        return self._info

    def embed(self, refs: Refs) -> pa.Table:
        """One row per ref, in input order; its requests run concurrently over all replicas."""
        (table,) = self.embed_all([refs])
        return table

    def embed_all(self, chunks: Iterable[Refs]) -> Iterator[pa.Table]:
        """One table per chunk, in chunk order, with requests of later chunks already in flight.

        Up to `requests_per_url` requests per replica run at once, and as many wait queued, so
        no replica idles while a finished chunk is handed back. Every row must carry the model
        tag that `info` reported, so a replica restarted with other weights cannot slip vectors
        of another model into the result. On the first failure, queued requests are cancelled.
        """
        queued: deque[list[Future[pa.Table]]] = deque()
        with ThreadPoolExecutor(self._workers, thread_name_prefix="embed-client") as pool:
            try:
                for chunk in chunks:
                    requests = self._requests(chunk)
                    queued.append([pool.submit(self._embed_request, *r) for r in requests])
                    while sum(map(len, queued)) > 2 * self._workers:
                        yield self._finished(queued.popleft())
                while queued:
                    yield self._finished(queued.popleft())
            except BaseException:
                for future in itertools.chain.from_iterable(queued):
                    future.cancel()
                raise

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _requests(self, chunk: Refs) -> list[tuple[int, list[ImageRef]]]:
        """`chunk` cut into requests of `chunk_size` refs, each with its request number."""
        refs = as_refs(chunk)
        starts = range(0, len(refs), self._chunk_size)
        return [(next(self._request_numbers), refs[i : i + self._chunk_size]) for i in starts]

    def _finished(self, futures: list[Future[pa.Table]]) -> pa.Table:
        """The rows of one chunk's requests, in order, checked to come from the served model."""
        if not futures:
            return result_schema(self.info.dim).empty_table()
        table = pa.concat_tables([future.result() for future in futures])
        tags = set(table.column("model_tag").unique().to_pylist())
        if tags != {self.info.model_tag}:
            raise EmbedderError(
                f"sidecars serve different models: {sorted(tags | {self.info.model_tag})}"
            )
        return table

    def _embed_request(self, index: int, chunk: list[ImageRef]) -> pa.Table:
        """Send request `index`, starting at replica `index % n` and failing over round-robin."""
        body = table_to_ipc(refs_to_table(chunk))
        headers = {"content-type": ARROW_STREAM_MEDIA_TYPE, "accept": ARROW_STREAM_MEDIA_TYPE}
        failures: list[str] = []
        n = len(self._urls)
        for attempt in range(self._rounds * n):
            if attempt and attempt % n == 0:
                time.sleep(self._backoff_s * 2 ** (attempt // n - 1))
            url = self._urls[(index + attempt) % n]
            try:
                response = self._http.post(f"{url}/embed", content=body, headers=headers)
            except httpx.TransportError as error:
                failures.append(f"{url}: {type(error).__name__}: {error}")
                continue
            if response.status_code in RETRYABLE_STATUS:
                failures.append(f"{url}: HTTP {response.status_code} {error_detail(response)}")
                continue
            if response.status_code != 200:
                raise EmbedderError(
                    f"{url} refused the request: HTTP {response.status_code} "
                    f"{error_detail(response)}"
                )
            return _checked(ipc_to_table(response.content), chunk, url)
        raise EmbedderError(f"no sidecar could embed request {index}: " + "; ".join(failures[-4:]))

    def _fetch_info(self) -> ModelInfo:
        infos: dict[str, ModelInfo] = {}
        failures: list[str] = []
        for url in self._urls:
            try:
                response = self._http.get(f"{url}/info")
            except httpx.TransportError as error:
                failures.append(f"{url}: {type(error).__name__}")
                continue
            if response.status_code != 200:
                failures.append(f"{url}: HTTP {response.status_code} {error_detail(response)}")
                continue
            infos[url] = info_from_dict(response.json())
        if not infos:
            raise EmbedderError("no sidecar answered /info: " + "; ".join(failures))
        tags = {info.model_tag for info in infos.values()}
        if len(tags) > 1:
            raise EmbedderError(f"sidecars serve different models: {sorted(tags)}")
        return next(iter(infos.values()))


def error_detail(response: httpx.Response) -> str:
    """The sidecar's message for a failed request (FastAPI's `detail`), else the body's start."""
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        return response.text[:500]
    return str(detail)[:500]


def info_from_dict(payload: dict[str, Any]) -> ModelInfo:
    """A `ModelInfo` from `/info` JSON (extra keys, such as limits, are ignored)."""
    return ModelInfo(**{f.name: payload[f.name] for f in fields(ModelInfo)})


def _checked(table: pa.Table, chunk: list[ImageRef], url: str) -> pa.Table:
    """The sidecar's answer, after checking it has exactly the chunk's keys in order."""
    if table.column("image_key").to_pylist() != [ref.image_key for ref in chunk]:
        raise EmbedderError(f"{url} answered rows that do not match the request")
    return table


def open_embedder(settings: EmbedSettings) -> EmbedBackend:
    """Sidecars when `settings.urls` is set, else the engine in this process."""
    if settings.urls:
        return RemoteEmbedder(
            settings.urls,
            token=settings.token,
            chunk_size=settings.chunk_size,
            timeout_s=settings.timeout_s,
            retries=settings.retries,
            backoff_s=settings.backoff_s,
            requests_per_url=settings.requests_per_url,
        )
    from dataproc.embedding.engine import build_embedder  # torch loads only for the engine

    return build_embedder(settings)


def table_to_ipc(table: pa.Table) -> bytes:
    """Serialize a table as one Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def ipc_to_table(data: bytes) -> pa.Table:
    """Read a whole Arrow IPC stream into a table."""
    with pa.ipc.open_stream(pa.BufferReader(data)) as reader:
        return reader.read_all()
