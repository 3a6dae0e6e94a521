"""The embedding sidecar (the engine behind HTTP) and the `dataproc embedder` commands.

In: `POST /embed` takes image refs (JSON or Arrow IPC). Out: Arrow IPC stream bytes of the
engine's result table, one row per ref in request order. `GET /health` is open (for probes);
`GET /info` and `POST /embed` need the bearer token when one is set. Both describe the model by
name, tag, dim and weights hash, never by a path on the host.

A caller's mistake is a 4xx with a message, which clients do not retry: a malformed body or a
ref outside the lake (an absolute path elsewhere, `..`, a negative offset or length) is 400, a
missing or wrong token 401, too large a body or too many refs 413. Pixels per image are limited
too (`decompression_bomb` rows). Only the server's own trouble is 5xx, which clients retry: a
storage failure (503) or the per-request deadline (504).

The same app also runs as a Ray Serve fleet (`fleet_application`): each replica loads the
model once and serves this app, with its own CPUs and GPUs, between a minimum and a maximum
replica count (autoscaled on requests in flight), and Ray Serve's health check calls the
engine's. Ray's HTTP proxy on every node is the fleet's one endpoint, and it replaces a replica
that dies. Ray is an extra (`pip install '.[ray]'`), imported only by that command.

Commands: `serve` runs the sidecar, `serve-ray` deploys the fleet on a Ray cluster, `info`
describes a model, `checkpoint` writes the seeded weights of the demo model. The engine (and
torch) is imported only by the command that needs it, so the `dataproc` command line starts
quickly.
"""

from __future__ import annotations

import contextlib
import hmac
import inspect
import ipaddress
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pyarrow as pa
import typer
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from dataproc.embedding.decode import DEFAULT_MAX_PIXELS, ImageRef, InvalidRef, as_refs
from dataproc.lake import lake_root

if TYPE_CHECKING:
    from dataproc.embedding.contract import EmbedSettings, ModelInfo
    from dataproc.embedding.engine import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLimits:
    """Per-request limits; the pixel limit lives in the engine (`EmbedSettings.max_pixels`)."""

    max_request_refs: int = 4096
    max_request_bytes: int = 16 << 20
    request_timeout_s: float = 600.0


# What the open /health tells a probe: which model answers, not how it is configured.
HEALTH_KEYS = ("model", "model_tag", "dim", "weights_sha256")


def public_info(info: ModelInfo) -> dict[str, Any]:
    """What the sidecar says about its model: `ModelInfo` without paths on the host.

    Weights read from a file are named by their sha256 (already in `weights_sha256` and the
    model tag), so `pretrained` is kept only when it is an open_clip tag.
    """
    described = info.to_dict()
    pretrained = info.pretrained
    if pretrained is not None and (info.weights_sha256 is not None or is_host_path(pretrained)):
        described["pretrained"] = None
    return described


def is_host_path(value: str) -> bool:
    """Whether `value` names a file or folder rather than an open_clip tag."""
    return os.path.isabs(value) or os.path.exists(value)


def create_app(embedder: Embedder, *, token: str | None, limits: ServerLimits) -> FastAPI:
    """A FastAPI app serving `embedder`; `token` (when set) is required on /info and /embed."""
    from dataproc.embedding.client import ARROW_STREAM_MEDIA_TYPE, table_to_ipc

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
    def health() -> dict[str, Any]:
        described = public_info(embedder.info)
        return {"status": "ok", **{key: described[key] for key in HEALTH_KEYS}}

    @app.get("/info", dependencies=[Depends(authorize)])
    def info() -> dict[str, Any]:
        return {**public_info(embedder.info), "max_request_refs": limits.max_request_refs}

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
    from dataproc.embedding.client import ARROW_STREAM_MEDIA_TYPE, ipc_to_table

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

    from dataproc.embedding.engine import build_embedder

    if not is_loopback(host) and token is None:
        log.warning("serving on %s without a token: anyone who can reach it can use it", host)
    embedder = build_embedder(settings)
    log.info("serving %s on %s:%d", embedder.info.model_tag, host, port)
    try:
        app = create_app(embedder, token=token, limits=limits or ServerLimits())
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        embedder.close()


# -- Ray Serve fleet -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FleetSettings:
    """Ray Serve's options for the fleet: how many replicas, what each holds, where it listens.

    `requests_per_replica` is the autoscaler's target of requests in flight per replica; a
    replica takes twice that before Ray Serve queues requests elsewhere.
    """

    min_replicas: int = 1
    max_replicas: int = 1
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    requests_per_replica: int = 2
    health_check_period_s: float = 10.0
    health_check_timeout_s: float = 30.0
    host: str = "127.0.0.1"
    port: int = 8000
    route_prefix: str = "/embedder"
    name: str = "embedder"

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ValueError("replicas: need 1 <= min_replicas <= max_replicas")

    @property
    def url(self) -> str:
        """The endpoint the pipeline is given (`DATAPROC_EMBEDDER_URLS`)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}{self.route_prefix}"


def fleet_application(
    settings: EmbedSettings,
    fleet: FleetSettings,
    *,
    token: str | None = None,
    limits: ServerLimits | None = None,
) -> Any:
    """The embedding app as a Ray Serve application (bind it with `serve.run`).

    Each replica builds the engine in its constructor and then serves `create_app` over it,
    the very app `serve` runs: the same routes, token, limits and errors.
    """
    from ray import serve

    limits = limits or ServerLimits()

    @serve.deployment(
        name="EmbedderReplica",
        ray_actor_options={"num_cpus": fleet.num_cpus, "num_gpus": fleet.num_gpus},
        autoscaling_config={
            "min_replicas": fleet.min_replicas,
            "max_replicas": fleet.max_replicas,
            "target_ongoing_requests": fleet.requests_per_replica,
        },
        max_ongoing_requests=2 * fleet.requests_per_replica,
        health_check_period_s=fleet.health_check_period_s,
        health_check_timeout_s=fleet.health_check_timeout_s,
    )
    @serve.ingress()
    class EmbedderReplica:
        """One replica: the engine, loaded once, behind the sidecar's FastAPI app."""

        def __init__(self) -> None:
            from dataproc.embedding.engine import build_embedder

            logging.basicConfig(level=logging.INFO)
            self.embedder = build_embedder(settings)

        def __serve_build_asgi_app__(self) -> FastAPI:
            return create_app(self.embedder, token=token, limits=limits)

        def check_health(self) -> None:
            self.embedder.check_health()

    return EmbedderReplica.bind()


def deploy_fleet(
    settings: EmbedSettings,
    fleet: FleetSettings,
    *,
    token: str | None = None,
    limits: ServerLimits | None = None,
) -> str:
    """Deploy the fleet on the Ray cluster this process is connected to; returns its URL.

    Returns once the minimum of replicas is up. The application lives on the cluster, not in
    this process: `serve.delete(fleet.name)` (or `serve shutdown`) removes it.
    """
    from ray import serve

    serve.start(http_options={"host": fleet.host, "port": fleet.port})
    serve.run(
        fleet_application(settings, fleet, token=token, limits=limits),
        name=fleet.name,
        route_prefix=fleet.route_prefix,
    )
    return fleet.url


# -- `dataproc embedder ...` -----------------------------------------------------------------------
app = typer.Typer(help="The open_clip embedding sidecar.", no_args_is_help=True)


@contextlib.contextmanager
def weights_errors_exit() -> Iterator[None]:
    """Unusable weights end the command with their message (what to do), not a traceback."""
    from dataproc.embedding.engine import WeightsError

    try:
        yield
    except WeightsError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


# The engine's and the app's options, shared by `serve` and `serve-ray`.
Model = Annotated[str, typer.Option(help="open_clip model name.")]
Pretrained = Annotated[
    str | None, typer.Option(help="open_clip pretrained tag or checkpoint file.")
]
Device = Annotated[str, typer.Option(help="auto (CUDA when present), cpu, cuda, cuda:N.")]
Token = Annotated[
    str | None, typer.Option(help="Required bearer token (default: DATAPROC_EMBEDDER_TOKEN).")
]
LakeRoot = Annotated[
    str | None, typer.Option(help="Lake root the refs point into (default: DATAPROC_LAKE).")
]
MaxRequestRefs = Annotated[int, typer.Option(min=1, help="Most refs in one request (413).")]
MaxRequestBytes = Annotated[int, typer.Option(min=1, help="Largest request body (413).")]
MaxPixels = Annotated[int, typer.Option(min=1, help="Pixels per image.")]
Timeout = Annotated[float, typer.Option(min=1, help="Seconds per request (504 after).")]
BatchSize = Annotated[int, typer.Option(min=1, help="Images per model forward.")]
Workers = Annotated[int, typer.Option(min=0, help="Decode threads (0: chosen for the device).")]
Precision = Annotated[str, typer.Option(help="Autocast on CUDA: bf16, fp16 or fp32.")]
AllowRandomWeights = Annotated[
    bool, typer.Option(help="Serve random weights when --pretrained is not given (benchmarks).")
]


def configure(
    *,
    model: str,
    pretrained: str | None,
    device: str,
    lake: str | None,
    batch_size: int,
    workers: int,
    max_pixels: int,
    allow_random_weights: bool,
    precision: str,
    max_request_refs: int,
    max_request_bytes: int,
    timeout: float,
) -> tuple[EmbedSettings, ServerLimits]:
    """The engine's settings and the app's limits from the shared options."""
    from dataproc.embedding.contract import EmbedSettings

    settings = EmbedSettings(
        model=model,
        pretrained=pretrained,
        device=device,
        lake=lake or lake_root(),
        batch_size=batch_size,
        decode_workers=workers,
        max_pixels=max_pixels,
        allow_random_weights=allow_random_weights,
        precision=precision,
    )
    limits = ServerLimits(
        max_request_refs=max_request_refs,
        max_request_bytes=max_request_bytes,
        request_timeout_s=timeout,
    )
    return settings, limits


def token_or_env(token: str | None) -> str | None:
    from dataproc.embedding.contract import EmbedSettings

    return token or EmbedSettings.from_env().token


@app.command("serve")
def serve_command(
    model: Model = "ViT-B-32",
    pretrained: Pretrained = None,
    device: Device = "auto",
    host: Annotated[str, typer.Option(help="Bind address; loopback by default.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Token = None,
    lake: LakeRoot = None,
    max_request_refs: MaxRequestRefs = 4096,
    max_request_bytes: MaxRequestBytes = 16 << 20,
    max_pixels: MaxPixels = DEFAULT_MAX_PIXELS,
    timeout: Timeout = 600.0,
    batch_size: BatchSize = 32,
    workers: Workers = 0,
    precision: Precision = "bf16",
    allow_random_weights: AllowRandomWeights = False,
) -> None:
    """Serve POST /embed, GET /info and GET /health."""
    logging.basicConfig(level=logging.INFO)
    settings, limits = configure(**{k: v for k, v in locals().items() if k in CONFIGURE_KEYS})
    with weights_errors_exit():
        serve(settings, host=host, port=port, token=token_or_env(token), limits=limits)


@app.command("serve-ray")
def serve_ray_command(
    model: Model = "ViT-B-32",
    pretrained: Pretrained = None,
    device: Device = "auto",
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join (default: the one `ray start` runs here, or a new one)."
        ),
    ] = None,
    replicas: Annotated[int, typer.Option(min=1, help="Replicas to start with (and keep).")] = 1,
    max_replicas: Annotated[
        int | None, typer.Option(min=1, help="Most replicas under load (default: --replicas).")
    ] = None,
    num_gpus: Annotated[float, typer.Option(min=0, help="GPUs per replica.")] = 0.0,
    num_cpus: Annotated[float, typer.Option(min=0, help="CPUs per replica.")] = 1.0,
    host: Annotated[
        str, typer.Option(help="Ray Serve's HTTP bind address on every node.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Ray Serve's HTTP port.")] = 8000,
    route_prefix: Annotated[str, typer.Option(help="Path of the app.")] = "/embedder",
    detach: Annotated[
        bool, typer.Option(help="Return once deployed; the app stays on the cluster.")
    ] = False,
    token: Token = None,
    lake: LakeRoot = None,
    max_request_refs: MaxRequestRefs = 4096,
    max_request_bytes: MaxRequestBytes = 16 << 20,
    max_pixels: MaxPixels = DEFAULT_MAX_PIXELS,
    timeout: Timeout = 600.0,
    batch_size: BatchSize = 32,
    workers: Workers = 0,
    precision: Precision = "bf16",
    allow_random_weights: AllowRandomWeights = False,
) -> None:
    """Deploy the embedder as a Ray Serve application: one endpoint over many replicas."""
    import ray
    from ray import serve

    from dataproc.embedding.engine import check_weights

    settings, limits = configure(**{k: v for k, v in locals().items() if k in CONFIGURE_KEYS})
    fleet = FleetSettings(
        min_replicas=replicas,
        max_replicas=max_replicas or replicas,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        host=host,
        port=port,
        route_prefix=route_prefix,
    )
    with weights_errors_exit():
        # Here, not only in the replicas: bad weights fail once, with the remedy.
        check_weights(settings.model, settings.pretrained, settings.allow_random_weights)
    ray.init(address=address)
    url = deploy_fleet(settings, fleet, token=token_or_env(token), limits=limits)
    in_flight = 2 * fleet.max_replicas * fleet.requests_per_replica
    typer.echo(f"serving {url}")
    typer.echo(f"DATAPROC_EMBEDDER_URLS={url} DATAPROC_EMBEDDER_REQUESTS_PER_URL={in_flight}")
    if detach:
        return
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        serve.delete(fleet.name)


CONFIGURE_KEYS = frozenset(inspect.signature(configure).parameters)


@app.command()
def info(
    model: str = typer.Option("ViT-B-32", help="open_clip model name."),
    pretrained: str | None = typer.Option(None, help="open_clip pretrained tag or checkpoint."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N."),
    allow_random_weights: bool = typer.Option(False, help="Accept no --pretrained (random)."),
) -> None:
    """Load a model and print what /info would report (model tag, dim, weights hash)."""
    from dataproc.embedding.engine import load_model

    with weights_errors_exit():
        loaded = load_model(model, pretrained, device, allow_random=allow_random_weights)
    typer.echo(json.dumps(public_info(loaded.info), indent=2))


@app.command()
def checkpoint(
    path: Annotated[Path, typer.Argument(help="Checkpoint to write (kept if it exists).")],
    seed: int = typer.Option(0, help="Initialization seed; the same seed gives the same bytes."),
    model: str = typer.Option("dataproc-tiny", help="open_clip model name."),
) -> None:
    """Write a seeded checkpoint for the small test/demo model (no download needed)."""
    from dataproc.embedding.engine import ensure_demo_checkpoint, file_sha256, model_tag

    written = ensure_demo_checkpoint(path, seed=seed, model_name=model)
    typer.echo(f"{written}  {model_tag(model, str(written), file_sha256(written))}")
