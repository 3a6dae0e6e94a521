"""The `dataproc` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dataproc.embedding.server import app as embedder_app

app = typer.Typer(help="dataproc: anime-image metadata into a clean, versioned training dataset.")

LakeOption = Annotated[str, typer.Option(help="Lake root: a directory or s3://bucket/prefix.")]
DatabaseOption = Annotated[Path, typer.Option(help="The DuckDB file dbt built.")]


@app.command()
def demo(
    lake: LakeOption = "lake",
    posts: Annotated[int, typer.Option(min=1, help="Posts per source.")] = 100,
    seed: Annotated[int, typer.Option(help="The same seed gives a byte-identical lake.")] = 0,
    images: Annotated[
        bool, typer.Option("--images/--no-images", help="--no-images writes metadata only.")
    ] = True,
) -> None:
    """Write a realistic, deterministic demo lake for all five sources."""
    from dataproc.demo import generate_lake

    report = generate_lake(lake, posts=posts, seed=seed, images=images)
    typer.echo(report.describe())


@app.command()
def summary(
    lake: LakeOption = "lake",
    database: DatabaseOption = Path("dataproc.duckdb"),
) -> None:
    """Print where the outputs are and example ad hoc queries."""
    from dataproc.summary import describe_build

    typer.echo(describe_build(lake, database))


@app.command()
def report(
    lake: LakeOption = "lake",
    database: DatabaseOption = Path("dataproc.duckdb"),
    out: Annotated[Path, typer.Option(help="Where to write the two files.")] = Path("report"),
) -> None:
    """Render the report of the version a build published (the export writes the same files
    into the version folder)."""
    import duckdb

    from dataproc.lake import Lake
    from dataproc.report import database_tables, render_report
    from dataproc.summary import read_export

    export = read_export(database)
    if export is None:
        raise typer.BadParameter(f"{database} has no exports.export_dataset: run `dbt build` first")
    with duckdb.connect(str(database), read_only=True) as con:
        files = render_report(database_tables(con), Lake(lake), export.dataset, export.version)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
        typer.echo(out / name)


app.add_typer(embedder_app, name="embedder", help="The open_clip embedding sidecar.")
evaluate_app = typer.Typer(
    help="Measure pipeline quality: against the lake's ground truth, or its held-out labels."
)
app.add_typer(evaluate_app, name="eval")


@evaluate_app.command("identity")
def evaluate_identity(
    lake: LakeOption = "lake",
    database: DatabaseOption = Path("dataproc.duckdb"),
) -> None:
    """Pairwise precision and recall of image_id clusters, overall and per transform kind.

    Scores against the lake's ground truth when it has one (a demo lake), else against the
    held-out labelled pairs of the identity calibration, and says which.
    """
    from dataproc.evaluate import evaluate_identity as evaluate
    from dataproc.lake import Lake

    typer.echo(evaluate(Lake(lake), database).describe())


if __name__ == "__main__":
    app()
