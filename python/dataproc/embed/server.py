"""The embedding sidecar: the engine behind HTTP.

`POST /embed` takes image refs (JSON or Arrow IPC) and answers Arrow IPC stream bytes, one row
per ref in request order. `GET /health` is open (for probes); `GET /info` and `POST /embed` need
the bearer token when one is set. Limits: request body bytes and ref count (413), pixels per
image (`decompression_bomb` rows), and a per-request deadline (504).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from dataproc.embed.engine import Embedder, build_embedder
from dataproc.embed.fetch import InvalidRef
from dataproc.embed.ipc import ARROW_STREAM_MEDIA_TYPE, ipc_to_table, table_to_ipc
from dataproc.embed.refs import ImageRef, as_refs
from dataproc.embed.settings import EmbedSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLimits:
    """Per-request limits; the pixel limit lives in the engine (`EmbedSettings.max_pixels`)."""

    max_request_refs: int = 4096
    max_request_bytes: int = 16 << 20
    request_timeout_s: float = 600.0


def create_app(embedder: Embedder, *, token: str | None, limits: ServerLimits) -> FastAPI:
    """A FastAPI app serving `embedder`; `token` (when set) is required on /info and /embed."""
    app = FastAPI(title="dataproc embedder", docs_url=None, redoc_url=None)

    def authorize(request: Request) -> None:
        if token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(
                401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}
            )

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/info", dependencies=[Depends(authorize)])
    def info() -> dict[str, Any]:
        return {**embedder.info.to_dict(), "max_request_refs": limits.max_request_refs}

    @app.post("/embed", dependencies=[Depends(authorize)])
    async def embed(request: Request) -> Response:
        body = await read_body(request, limits.max_request_bytes)
        refs = parse_refs(body, request.headers.get("content-type", ""))
        if len(refs) > limits.max_request_refs:
            raise HTTPException(
                413, f"{len(refs)} refs in one request; the limit is {limits.max_request_refs}"
            )
        deadline = time.monotonic() + limits.request_timeout_s
        try:
            table = await run_in_threadpool(embedder.embed, refs, deadline)
        except TimeoutError as error:
            raise HTTPException(504, "request timed out") from error
        except InvalidRef as error:
            raise HTTPException(400, str(error)) from error
        except Exception as error:
            log.exception("embedding failed")
            raise HTTPException(503, f"embedding failed: {error}") from error
        return Response(table_to_ipc(table), media_type=ARROW_STREAM_MEDIA_TYPE)

    return app


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_refs(body: bytes, content_type: str) -> list[ImageRef]:
    """Refs from an Arrow IPC stream, a JSON list, or a JSON object `{"refs": [...]}`; else 400."""
    try:
        if content_type.startswith(ARROW_STREAM_MEDIA_TYPE):
            return as_refs(ipc_to_table(body))
        payload = json.loads(body)
        rows = payload["refs"] if isinstance(payload, dict) else payload
        if not isinstance(rows, list):
            raise ValueError("refs must be a list")
        return as_refs(rows)
    except (ValueError, KeyError, TypeError, pa.ArrowException) as error:
        raise HTTPException(400, f"bad image refs: {error}") from error


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    settings: EmbedSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    limits: ServerLimits | None = None,
) -> None:
    """Load the model and serve it until interrupted."""
    import uvicorn

    if not is_loopback(host) and token is None:
        log.warning("serving on %s without a token: anyone who can reach it can use it", host)
    embedder = build_embedder(settings)
    log.info("serving %s on %s:%d", embedder.info.model_tag, host, port)
    try:
        app = create_app(embedder, token=token, limits=limits or ServerLimits())
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        embedder.close()
