"""Progress of the long steps of the image half: counts, rates and time left on a terminal,
nothing in logs and captured output."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from dataproc.catalog.tar import index_shards
from dataproc.embedding.checkpoints import embedding_progress
from dataproc.lake import Lake
from test_catalog_lakes import tar_with, write


class Terminal(io.StringIO):
    """Captured output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_embedding_progress_shows_rate_and_eta_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATAPROC_PROGRESS", raising=False)
    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        with embedding_progress(1000, stream=stream) as progress:
            progress.update(250)
            progress.update(750)
    assert re.search(r"embedding: 100%.*1000/1000 \[.*<.*(img/s|s/img)\]", terminal.getvalue())
    assert log.getvalue() == ""


def test_shard_indexing_shows_bytes_rate_and_eta(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATAPROC_PROGRESS", raising=False)
    for n in range(3):
        write(tmp_path, f"shards/src/{n:06d}.tar", tar_with([(f"{n}.jpg", b"x" * 2000)]))
    lake = Lake(str(tmp_path))
    shards = lake.list("shards/src")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    indexes = index_shards(lake, shards, read_ahead=4096, workers=2)
    assert [index.uri for index in indexes] == [obj.path for obj in shards]
    assert re.search(r"indexing shards: 100%.*3/3 \[.*<.*(shard/s|s/shard)\]", terminal.getvalue())
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    index_shards(lake, shards, read_ahead=4096, workers=2)
    assert sys.stderr.getvalue() == ""
