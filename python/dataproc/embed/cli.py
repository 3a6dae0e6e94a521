"""`dataproc embedder ...`: run the sidecar, describe a model, write the demo checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dataproc.embed.settings import DEFAULT_MAX_PIXELS, TOKEN_ENV
from dataproc.lake import lake_root

app = typer.Typer(help="The open_clip embedding sidecar.", no_args_is_help=True)


@app.command()
def serve(
    model: str = typer.Option("ViT-B-32", help="open_clip model name."),
    pretrained: str | None = typer.Option(None, help="open_clip pretrained tag or checkpoint."),
    device: str = typer.Option("auto", help="auto (CUDA when present), cpu, cuda, cuda:N."),
    host: str = typer.Option("127.0.0.1", help="Bind address; loopback by default."),
    port: int = typer.Option(8765, help="Port to listen on."),
    token: str | None = typer.Option(None, envvar=TOKEN_ENV, help="Required bearer token."),
    lake: str | None = typer.Option(None, help="Lake root the refs point into [DATAPROC_LAKE]."),
    max_request_refs: int = typer.Option(4096, min=1, help="Most refs in one request (413)."),
    max_request_bytes: int = typer.Option(16 << 20, min=1, help="Largest request body (413)."),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, min=1, help="Pixels per image."),
    timeout: float = typer.Option(600.0, min=1, help="Seconds per request (504 after)."),
    batch_size: int = typer.Option(32, min=1, help="Images per model forward."),
    workers: int = typer.Option(0, min=0, help="Decode threads (0: chosen for the device)."),
) -> None:
    """Serve POST /embed, GET /info and GET /health."""
    import logging

    from dataproc.embed.server import ServerLimits
    from dataproc.embed.server import serve as run_server
    from dataproc.embed.settings import EmbedSettings

    logging.basicConfig(level=logging.INFO)
    settings = EmbedSettings(
        model=model,
        pretrained=pretrained,
        device=device,
        lake=lake or lake_root(),
        batch_size=batch_size,
        decode_workers=workers,
        max_pixels=max_pixels,
    )
    limits = ServerLimits(
        max_request_refs=max_request_refs,
        max_request_bytes=max_request_bytes,
        request_timeout_s=timeout,
    )
    run_server(settings, host=host, port=port, token=token or None, limits=limits)


@app.command()
def info(
    model: str = typer.Option("ViT-B-32", help="open_clip model name."),
    pretrained: str | None = typer.Option(None, help="open_clip pretrained tag or checkpoint."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N."),
) -> None:
    """Load a model and print what /info would report (model tag, dim, weights hash)."""
    from dataproc.embed.model import load_model

    typer.echo(json.dumps(load_model(model, pretrained, device).info.to_dict(), indent=2))


@app.command()
def checkpoint(
    path: Annotated[Path, typer.Argument(help="Checkpoint to write (kept if it exists).")],
    seed: int = typer.Option(0, help="Initialization seed; the same seed gives the same bytes."),
    model: str = typer.Option("dataproc-tiny", help="open_clip model name."),
) -> None:
    """Write a seeded checkpoint for the small test/demo model (no download needed)."""
    from dataproc.embed.model import ensure_demo_checkpoint, file_sha256, model_tag

    written = ensure_demo_checkpoint(path, seed=seed, model_name=model)
    typer.echo(f"{written}  {model_tag(model, str(written), file_sha256(written))}")
