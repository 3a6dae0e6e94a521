"""The embedder as a Ray Serve fleet on a local Ray cluster: a `dbt build` through its one
endpoint, with a replica killed mid-build, gives the in-process build's export."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEMO_WEIGHTS, DbtProject, make_dbt_project
from dataproc.embedding.engine import TINY_MODEL, EmbedSettings
from dataproc.embedding.server import FleetSettings, deploy_fleet
from test_build_demo import LAKE_INPUTS, export_files

REPLICAS = 2
# Ray Serve's own pydantic models warn on import; they are not this project's.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def replica_names() -> set[str]:
    import ray

    actors = ray.util.list_named_actors(all_namespaces=True)
    return {a["name"] for a in actors if a["name"].startswith("SERVE_REPLICA::")}


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """A local Ray cluster on this machine, one CPU per replica."""
    import ray
    from ray import serve

    ray.init(num_cpus=REPLICAS, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        serve.shutdown()
        ray.shutdown()


class ReplicaKiller(threading.Thread):
    """Kills one replica once the build has written its first embedding checkpoint."""

    def __init__(self, checkpoints: Path) -> None:
        super().__init__(daemon=True)
        self.checkpoints = checkpoints
        self.killed: str | None = None
        self.chunks_at_kill = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import ray

        while not self.stop.wait(0.05):
            self.chunks_at_kill = len(list(self.checkpoints.rglob("chunk-*.parquet")))
            if self.chunks_at_kill:
                self.killed = sorted(replica_names())[0]
                ray.kill(ray.get_actor(self.killed, namespace="serve"), no_restart=True)
                return


def test_a_build_through_the_fleet_survives_a_killed_replica(
    ray_cluster: None, demo_build: DbtProject, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    for name in LAKE_INPUTS:
        if (Path(demo_build.lake) / name).exists():
            shutil.copytree(Path(demo_build.lake) / name, lake / name)
    settings = EmbedSettings(
        model=TINY_MODEL, pretrained=str(DEMO_WEIGHTS), device="cpu", lake=str(lake)
    )
    fleet = FleetSettings(
        min_replicas=REPLICAS,
        max_replicas=REPLICAS,
        port=free_port(),
        health_check_period_s=1,
    )
    url = deploy_fleet(settings, fleet)
    assert len(replica_names()) == REPLICAS

    project = make_dbt_project(
        tmp_path / "dbt",
        lake,
        DATAPROC_EMBEDDER_URLS=url,
        DATAPROC_EMBEDDER_REQUESTS_PER_URL=str(2 * REPLICAS),
    )
    killer = ReplicaKiller(lake / "state" / "embeddings")
    killer.start()
    try:
        # Small chunks, so that the build is still embedding when the replica dies. The data
        # and unit tests ran in the shared build of the same lake.
        excluded = ("--exclude-resource-type", "unit_test", "--exclude-resource-type", "test")
        project.run("build", *excluded, "--vars", "{embed_chunk_rows: 16}")
    finally:
        killer.stop.set()
        killer.join()

    assert killer.killed is not None, "the build finished before any checkpoint was seen"
    chunks = len(list((lake / "state" / "embeddings").rglob("chunk-*.parquet")))
    assert killer.chunks_at_kill < chunks, "the replica died after the last chunk"
    deadline = time.monotonic() + 30
    while (len(replica_names()) < REPLICAS) and time.monotonic() < deadline:
        time.sleep(0.2)
    replicas = replica_names()
    assert killer.killed not in replicas and len(replicas) == REPLICAS
    assert export_files(lake) == export_files(Path(demo_build.lake))
