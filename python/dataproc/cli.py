"""The `dataproc` command line."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="dataproc: anime-image metadata into a clean, versioned training dataset.")


@app.command()
def demo(
    lake: str = typer.Option("lake", help="Lake root: a directory or s3://bucket/prefix."),
    posts: int = typer.Option(100, min=1, help="Posts per source."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives a byte-identical lake."),
    images: bool = typer.Option(True, "--images/--no-images", help="Metadata-only with --no-images."),
) -> None:
    """Write a realistic, deterministic demo lake for all five sources."""
    from dataproc.demo import generate_lake

    report = generate_lake(lake, posts=posts, seed=seed, images=images)
    typer.echo(report.describe())


@app.command()
def summary(
    lake: str = typer.Option("lake", help="Lake root the build read."),
    database: Path = typer.Option(Path("dataproc.duckdb"), help="The DuckDB file dbt built."),
) -> None:
    """Print where the outputs are and example ad hoc queries."""
    from dataproc.summary import describe_build

    typer.echo(describe_build(lake, database))


if __name__ == "__main__":
    app()
