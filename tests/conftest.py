"""Shared pytest fixtures: run dbt against a lake in a temporary directory.

`demo_build` is the one full `dbt build` of the test suite: a small demo lake with a few known
cases added (see `write_test_lake`), built once per test run (however many xdist workers) and
read by every module that inspects a build. Tests only query it; a test that runs dbt again
works on its own copy (`copy_project`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from filelock import FileLock

PROJECT_DIR = Path(__file__).resolve().parents[1]
# The demo model's seeded weights, at the path the `clip_pretrained` var names by default.
DEMO_WEIGHTS = PROJECT_DIR / ".dataproc" / "weights" / "dataproc-tiny-seed0.pt"
DBT = Path(sys.executable).with_name("dbt")
# A danbooru post added to the test lake: a copy of a demo post, re-keyed and marked deleted.
DELETED_POST_ID = 990_000_001
# What the two lying danbooru posts of the test lake claim (see `add_lying_image_posts`).
TINY_CLAIMED_SIZE = (680, 453)
RENAMED_CLAIMED_SIZE = (2000, 3000)


# The modules that run dbt builds of their own, slowest first. Under xdist (`-n 2 --dist
# loadscope --no-loadscope-reorder` in pyproject.toml) each worker takes whole modules in
# collection order as it frees up, so these are queued before the rest: none of them is left
# to start when the other worker has nothing more to do. Each worker starts with two modules:
# the first builds `demo_build` and then its own builds (the longest module), the second needs
# no shared build; the third is short, as it waits behind the first on the same worker; the
# next two start with builds of their own, so the shared build is done before a module that
# only reads it comes up. A module missing here only runs later; nothing else depends on this
# list.
SLOW_MODULES = (
    "test_incremental_build.py",
    "test_staging_posts.py",
    "test_demo_learned_aliases.py",
    "test_merge_images.py",
    "test_merge_weighted_pick.py",
    "test_build_demo.py",
    "test_embed_ray.py",
    "test_vars_no_lake.py",
    "test_metrics_lake.py",
    "test_embed_weights.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Queue SLOW_MODULES first, in that order; every module keeps its own test order."""
    rank = {name: i for i, name in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_MODULES)))


@dataclass
class DbtResult:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class DbtProject:
    """dbt pointed at one lake and one DuckDB file, isolated from the working tree's outputs."""

    lake: str
    database: Path
    work: Path
    env: dict[str, str]

    def run(self, *args: str, target: str = "local", check: bool = True) -> DbtResult:
        cmd = [
            str(DBT),
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target",
            target,
            "--target-path",
            str(self.work / "target"),
            "--log-path",
            str(self.work / "logs"),
        ]
        proc = subprocess.run(
            cmd, cwd=PROJECT_DIR, env=self.env, capture_output=True, text=True, check=False
        )
        result = DbtResult(proc.returncode, proc.stdout + proc.stderr)
        if check and not result.ok:
            raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.output[-6000:]}")
        return result

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.sql(sql).fetchall()


def make_dbt_project(work: Path, lake: str | Path, **extra_env: str) -> DbtProject:
    """A DbtProject whose database, target and logs live under `work`."""
    from dataproc.embedding.engine import ensure_demo_checkpoint

    ensure_demo_checkpoint(DEMO_WEIGHTS, seed=0)
    work.mkdir(parents=True, exist_ok=True)
    database = work / "dataproc.duckdb"
    env = {
        **os.environ,
        "DATAPROC_LAKE": str(lake),
        "DATAPROC_DUCKDB": str(database),
        "DATAPROC_TEMP_DIRECTORY": str(work / "duckdb_tmp"),
        "DATAPROC_MEMORY_LIMIT": "4GB",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **extra_env,
    }
    return DbtProject(lake=str(lake), database=database, work=work, env=env)


@pytest.fixture
def dbt_project(tmp_path: Path) -> Callable[..., DbtProject]:
    """Factory: `dbt_project(lake, **extra_env)` gives a DbtProject with its own database."""

    def make(lake: str | Path, **extra_env: str) -> DbtProject:
        return make_dbt_project(tmp_path / "dbt", lake, **extra_env)

    return make


def copy_project(project: DbtProject, work: Path) -> DbtProject:
    """A copy of a built local project (its lake and its database) under `work`.

    For a test that runs dbt again, so the shared build stays as it was built.
    """
    lake = work / "lake"
    shutil.copytree(project.lake, lake)
    copy = make_dbt_project(work / "dbt", lake)
    shutil.copy2(project.database, copy.database)
    return copy


def add_deleted_danbooru_post(lake: Path) -> None:
    """Write raw/danbooru/zz_deleted.parquet: one demo post, re-keyed and marked deleted.

    So the lake always holds a known deleted post, whatever the demo's draws.
    """
    raw = lake / "raw" / "danbooru"
    with duckdb.connect() as con:
        con.execute(
            f"""
            copy (
                select * replace (
                    cast({DELETED_POST_ID} as bigint) as id,
                    true as is_deleted,
                    false as is_banned,
                    false as is_pending
                )
                from read_parquet('{raw}/*.parquet', union_by_name = true)
                order by id
                limit 1
            ) to '{raw / "zz_deleted.parquet"}' (format parquet)
            """
        )


def sharpness_keys(lake: Path) -> list[str]:
    """The three measured danbooru post keys that `add_unregistered_metric` gives a sharpness."""
    folder = lake / "metrics" / "danbooru"
    measured = pq.read_table(next(folder.glob("*.aesthetic.parquet")))["key"].to_pylist()
    return sorted(measured)[:3]


def add_unregistered_metric(lake: Path) -> None:
    """A metric no registry row names, `sharpness`, for three measured danbooru keys.

    One key is measured twice, in two files: the later file's value counts.
    """
    folder = lake / "metrics" / "danbooru"
    keys = sharpness_keys(lake)
    pq.write_table(
        pa.table({"key": keys, "sharpness": [0.25, 0.5, 0.75]}),
        folder / "run-a.sharpness.parquet",
    )
    pq.write_table(
        pa.table({"key": keys[:1], "sharpness": [0.9]}), folder / "run-b.sharpness.parquet"
    )


def drop_yandere_watermarks(lake: Path) -> None:
    """yandere has no values of the registered metric `watermark`."""
    for path in (lake / "metrics" / "yandere").glob("*.watermark.parquet"):
        path.unlink()


@dataclass(frozen=True)
class LyingImagePosts:
    """Two danbooru posts of the test lake whose metadata lies about their files.

    `tiny_key`: a 1x1 PNG whose post says TINY_CLAIMED_SIZE. `renamed_key`: PNG bytes in a
    `.jpg` file whose post says RENAMED_CLAIMED_SIZE and `jpg`; `renamed_size` is its true size.
    """

    tiny_key: str
    renamed_key: str
    renamed_size: tuple[int, int]


def lying_image_posts(lake: Path) -> LyingImagePosts:
    """Choose the two posts from the demo's ground truth, the same before and after tampering.

    Each is a kept danbooru post showing its own picture, untransformed, with no other member
    (so its image is itself alone) and no sharpness value: the tiny one is the first by key
    with a `.png` file, the renamed one the first with a `.jpg` file.
    """
    from PIL import Image

    with duckdb.connect() as con:
        candidates = con.execute(
            f"""
            with truth as (
                select image_key, transform, count(*) over (partition by picture_id) as n_members
                from read_parquet('{lake}/ground_truth/pictures.parquet')
            ),
            posts as (
                select 'danbooru:' || id as image_key
                from read_parquet('{lake}/raw/danbooru/*.parquet', union_by_name = true)
                where not (is_deleted or is_banned or is_pending)
            )
            select image_key from truth inner join posts using (image_key)
            where n_members = 1 and transform = 'original'
                and split_part(image_key, ':', 2) not in (select unnest(?::varchar[]))
            order by image_key
            """,
            [sharpness_keys(lake)],
        ).fetchall()

    def first_with(ext: str) -> tuple[str, Path]:
        for (image_key,) in candidates:
            files = list(lake.glob(f"images/danbooru/*/{image_key.split(':')[1]}.{ext}"))
            if len(files) == 1:
                return image_key, files[0]
        raise AssertionError(f"the test lake has no lone danbooru .{ext} post to tamper with")

    tiny_key, _ = first_with("png")
    renamed_key, renamed = first_with("jpg")
    with Image.open(renamed) as image:
        size = image.size
    return LyingImagePosts(tiny_key, renamed_key, size)


def add_lying_image_posts(lake: Path) -> None:
    """Make the two posts of `lying_image_posts` lie: their files stop matching their metadata."""
    import io

    from PIL import Image

    def png_bytes(image: Image.Image) -> bytes:
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()

    lying = lying_image_posts(lake)
    tiny_id, renamed_id = (key.split(":")[1] for key in (lying.tiny_key, lying.renamed_key))
    (tiny,) = lake.glob(f"images/danbooru/*/{tiny_id}.png")
    tiny.write_bytes(png_bytes(Image.new("RGB", (1, 1), "red")))
    (renamed,) = lake.glob(f"images/danbooru/*/{renamed_id}.jpg")
    with Image.open(renamed) as original:
        renamed.write_bytes(png_bytes(original.convert("RGB")))
    (tiny_width, tiny_height), (renamed_width, renamed_height) = (
        TINY_CLAIMED_SIZE,
        RENAMED_CLAIMED_SIZE,
    )
    with duckdb.connect() as con:
        for raw in sorted((lake / "raw" / "danbooru").glob("*.parquet")):
            holds = (
                f"select count(*) from read_parquet('{raw}') where id in ({tiny_id}, {renamed_id})"
            )
            if con.execute(holds).fetchone()[0] == 0:
                continue
            con.execute(
                f"""
                copy (
                    select * replace (
                        case id when {tiny_id} then {tiny_width} when {renamed_id}
                            then {renamed_width} else image_width end as image_width,
                        case id when {tiny_id} then {tiny_height} when {renamed_id}
                            then {renamed_height} else image_height end as image_height
                    )
                    from read_parquet('{raw}')
                ) to '{raw}.new' (format parquet)
                """
            )
            Path(f"{raw}.new").replace(raw)


def write_test_lake(lake: Path) -> None:
    """The demo lake with images (40 posts per source), plus the known cases above."""
    from dataproc.demo import generate_lake

    generate_lake(str(lake), posts=40, seed=11, images=True)
    add_deleted_danbooru_post(lake)
    add_unregistered_metric(lake)
    drop_yandere_watermarks(lake)
    add_lying_image_posts(lake)


@pytest.fixture(scope="session")
def lying_images(demo_build: DbtProject) -> LyingImagePosts:
    """The two lying danbooru posts of the shared build's lake."""
    return lying_image_posts(Path(demo_build.lake))


def run_temp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this test run: the same for every xdist worker of the run."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    """One full `dbt build` of the test lake, shared by the session: query it, never rebuild it.

    Built once per test run: under xdist, the first worker to ask builds it while the others
    wait on a file lock, and then every worker reads the same build.
    """
    root = run_temp_root(tmp_path_factory)
    work = root / "demo_build"
    built = work / "build_results.json"
    with FileLock(root / "demo_build.lock"):
        if not built.exists():
            shutil.rmtree(work, ignore_errors=True)
            write_test_lake(work / "lake")
            project = make_dbt_project(work / "dbt", work / "lake")
            project.run("build")
            # Kept apart, and written last: it marks the build as done.
            shutil.copy(project.work / "target" / "run_results.json", built)
    return make_dbt_project(work / "dbt", work / "lake")


@dataclass
class S3Endpoint:
    """A real S3 HTTP endpoint (moto server) on loopback with one bucket."""

    url: str
    bucket: str
    env: dict[str, str]

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_REGION"],
        )

    def upload_dir(self, local: Path, prefix: str, only: tuple[str, ...] = ()) -> int:
        """Upload files under `local` (or only its `only` subfolders) to s3://bucket/prefix/.

        Returns the file count.
        """
        client = self.client()
        roots = [local / name for name in only] if only else [local]
        files = sorted(p for root in roots for p in root.rglob("*") if p.is_file())
        for path in files:
            key = f"{prefix}/{path.relative_to(local).as_posix()}"
            client.upload_file(str(path), self.bucket, key)
        return len(files)


@pytest.fixture(scope="session")
def s3_endpoint():
    """Start moto's threaded server on 127.0.0.1 (a free port) and create a bucket."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
    }
    endpoint = S3Endpoint(url=url, bucket="dataproc-test", env=env)
    endpoint.client().create_bucket(Bucket=endpoint.bucket)
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory):
    """The tiny demo model, from seeded weights loaded through open_clip's checkpoint path."""
    from dataproc.embedding.engine import TINY_MODEL, ensure_demo_checkpoint, load_model

    weights = ensure_demo_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.pt", seed=0)
    return load_model(TINY_MODEL, str(weights), device="cpu")
