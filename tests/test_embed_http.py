"""The sidecar over real HTTP on 127.0.0.1, and the client that spreads work over sidecars."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pytest
import uvicorn
from dataproc.embedding.client import (
    ARROW_STREAM_MEDIA_TYPE,
    EmbedderError,
    RemoteEmbedder,
    ipc_to_table,
    open_embedder,
)
from dataproc.embedding.decode import ImageRef
from dataproc.embedding.engine import (
    TINY_MODEL,
    Embedder,
    EmbedSettings,
    LoadedModel,
    ensure_demo_checkpoint,
    load_model,
)
from dataproc.embedding.server import ServerLimits, create_app
from dataproc.lake import Lake
from PIL import Image

TOKEN = "s3cret-token"


class CountingEmbedder:
    """Wraps an Embedder: counts requests, and can fail them to exercise failover."""

    def __init__(self, inner: Embedder, fail: bool = False) -> None:
        self.inner = inner
        self.fail = fail
        self.calls = 0

    @property
    def info(self):
        return self.inner.info

    def embed(self, refs, deadline=None) -> pa.Table:
        self.calls += 1
        if self.fail:
            raise OSError("storage unavailable")
        return self.inner.embed(refs, deadline)


@contextmanager
def running(app) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def embed_refs(refs: list[ImageRef], settings: EmbedSettings) -> pa.Table:
    """Embed `refs` with the backend `settings` names, as the pipeline opens it."""
    backend = open_embedder(settings)
    try:
        return backend.embed(refs)
    finally:
        backend.close()


def dead_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def picture(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).resize((160, 120), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_demo_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.pt", seed=0)


@pytest.fixture(scope="module")
def model(weights: Path) -> LoadedModel:
    return load_model(TINY_MODEL, str(weights), device="cpu")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    folder = root / "images" / "src"
    folder.mkdir(parents=True)
    for i in range(12):
        (folder / f"{i}.png").write_bytes(picture(i))
    (folder / "broken.jpg").write_bytes(b"<html>not found</html>")
    return root


@pytest.fixture(scope="module")
def refs(lake: Path) -> list[ImageRef]:
    names = [f"{i}.png" for i in range(12)]
    names.insert(5, "broken.jpg")
    return [ImageRef(f"src:{n}", f"images/src/{n}") for n in names]


def make_engine(model: LoadedModel, lake: Path) -> Embedder:
    return Embedder(model, Lake(str(lake)), batch_size=4, decode_workers=2)


@pytest.fixture(scope="module")
def local_table(model: LoadedModel, lake: Path, refs: list[ImageRef]) -> pa.Table:
    with make_engine(model, lake) as engine:
        return engine.embed(refs)


@pytest.fixture
def sidecar(model: LoadedModel, lake: Path) -> Iterator[tuple[str, CountingEmbedder]]:
    """One sidecar with a token and small limits."""
    limits = ServerLimits(max_request_refs=20, max_request_bytes=64 << 10)
    with make_engine(model, lake) as engine:
        counting = CountingEmbedder(engine)
        with running(create_app(counting, token=TOKEN, limits=limits)) as url:
            yield url, counting


def get(url: str, **options) -> httpx.Response:
    return httpx.get(url, timeout=60, **options)


def post(url: str, **options) -> httpx.Response:
    return httpx.post(url, timeout=60, **options)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def ref_dicts(refs: list[ImageRef]) -> list[dict]:
    return [{"image_key": r.image_key, "uri": r.uri, "offset": r.offset} for r in refs]


def test_health_and_info(sidecar, model: LoadedModel, weights: Path) -> None:
    url, _ = sidecar
    health = get(f"{url}/health")
    assert health.json() == {
        "status": "ok",
        "model": TINY_MODEL,
        "model_tag": model.info.model_tag,
        "dim": 64,
        "weights_sha256": model.info.weights_sha256,
    }
    response = get(f"{url}/info", headers=auth())
    info = response.json()
    assert info["model"] == TINY_MODEL
    assert info["model_tag"] == model.info.model_tag
    assert info["dim"] == 64
    assert info["device"] == "cpu"
    assert info["weights_sha256"] == model.info.weights_sha256
    assert info["model_tag"].endswith("@" + info["weights_sha256"][:16])
    # The weights are named by their hash; where they lie on the host is not told.
    assert info["pretrained"] is None
    for body in (health.text, response.text):
        assert weights.name not in body and str(weights.parent) not in body


def test_embed_round_trip_returns_arrow(sidecar, refs, local_table: pa.Table) -> None:
    url, _ = sidecar
    response = post(f"{url}/embed", json={"refs": ref_dicts(refs)}, headers=auth())
    assert response.status_code == 200
    assert response.headers["content-type"] == ARROW_STREAM_MEDIA_TYPE
    table = ipc_to_table(response.content)
    assert table.equals(local_table)
    assert table.column("error").to_pylist()[5] == "not_an_image"


def test_token_is_required(sidecar, refs) -> None:
    url, _ = sidecar
    body = {"refs": ref_dicts(refs[:1])}
    assert post(f"{url}/embed", json=body).status_code == 401
    assert post(f"{url}/embed", json=body, headers=auth("wrong")).status_code == 401
    assert get(f"{url}/info").status_code == 401
    assert post(f"{url}/embed", json=body, headers=auth()).status_code == 200


def test_oversized_requests_are_refused(sidecar, refs) -> None:
    url, counting = sidecar
    too_many = {"refs": ref_dicts(refs) * 2}
    response = post(f"{url}/embed", json=too_many, headers=auth())
    assert response.status_code == 413
    padding = "x" * (70 << 10)
    too_big = {"refs": [{"image_key": padding, "uri": "images/src/0.png"}]}
    assert post(f"{url}/embed", json=too_big, headers=auth()).status_code == 413
    assert counting.calls == 0


def test_malformed_bodies_are_bad_requests(sidecar) -> None:
    url, _ = sidecar
    assert post(f"{url}/embed", content=b"{nope", headers=auth()).status_code == 400
    missing_uri = {"refs": [{"image_key": "k"}]}
    assert post(f"{url}/embed", json=missing_uri, headers=auth()).status_code == 400
    outside = {"refs": [{"image_key": "k", "uri": "/etc/passwd"}]}
    assert post(f"{url}/embed", json=outside, headers=auth()).status_code == 400


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"uri": "../../etc/passwd"}, "not a path inside the lake"),
        ({"uri": "images/../../../etc/passwd"}, "not a path inside the lake"),
        ({"uri": "/etc/passwd"}, "not under the lake root"),
        ({"uri": "images/src/0.png", "offset": -1}, "offset -1"),
        ({"uri": "images/src/0.png", "length": -8}, "length -8"),
        ({"uri": None}, "needs an image_key and a uri"),
    ],
)
def test_bad_refs_are_client_errors_with_a_message(sidecar, ref: dict, message: str) -> None:
    url, _ = sidecar
    body = {"refs": [{"image_key": "src:0", "uri": "images/src/0.png"}, {"image_key": "k", **ref}]}
    response = post(f"{url}/embed", json=body, headers=auth())
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_links_that_leave_the_lake_are_missing_on_the_sidecar(
    model: LoadedModel, tmp_path: Path
) -> None:
    outside = tmp_path / "host.png"
    outside.write_bytes(picture(1))
    root = tmp_path / "lake"
    (root / "images").mkdir(parents=True)
    (root / "images" / "inside.png").write_bytes(picture(2))
    (root / "images" / "leak.png").symlink_to(outside)
    (root / "images" / "passwd.png").symlink_to("/etc/passwd")
    refs = [{"image_key": name, "uri": f"images/{name}.png"} for name in ("inside", "leak")]
    refs.append({"image_key": "passwd", "uri": "images/passwd.png"})
    with (
        make_engine(model, root) as engine,
        running(create_app(engine, token=None, limits=ServerLimits())) as url,
    ):
        response = post(f"{url}/embed", json=refs)
    assert response.status_code == 200
    errors = ipc_to_table(response.content).column("error").to_pylist()
    assert errors == [None, "missing", "missing"]


def test_client_does_not_retry_a_client_error(sidecar) -> None:
    url, counting = sidecar
    outside = [ImageRef("k", "../../etc/passwd")]
    with (
        RemoteEmbedder([url, url], token=TOKEN, retries=3, backoff_s=0.01) as client,
        pytest.raises(EmbedderError, match=r"refused the request: HTTP 400 .*inside the lake"),
    ):
        client.embed(outside)
    assert counting.calls == 1


def test_request_timeout(model: LoadedModel, lake: Path, refs) -> None:
    limits = ServerLimits(request_timeout_s=1e-6)
    with (
        make_engine(model, lake) as engine,
        running(create_app(engine, token=None, limits=limits)) as url,
    ):
        response = post(f"{url}/embed", json=ref_dicts(refs))
    assert response.status_code == 504


def test_client_spreads_chunks_over_two_sidecars(
    model: LoadedModel, lake: Path, refs, local_table: pa.Table
) -> None:
    limits = ServerLimits()
    with make_engine(model, lake) as one, make_engine(model, lake) as two:
        first, second = CountingEmbedder(one), CountingEmbedder(two)
        with (
            running(create_app(first, token=TOKEN, limits=limits)) as url_a,
            running(create_app(second, token=TOKEN, limits=limits)) as url_b,
        ):
            env = {"DATAPROC_EMBEDDER_URLS": f"{url_a},{url_b}", "DATAPROC_EMBEDDER_TOKEN": TOKEN}
            settings = EmbedSettings.from_env(env, chunk_size=3)
            table = embed_refs(refs, settings)
    assert first.calls >= 2 and second.calls >= 2
    assert first.calls + second.calls == 5
    assert_same_results(table, local_table)


def test_client_fails_over_from_dead_and_failing_sidecars(
    model: LoadedModel, lake: Path, refs, local_table: pa.Table
) -> None:
    with make_engine(model, lake) as good, make_engine(model, lake) as bad:
        healthy, failing = CountingEmbedder(good), CountingEmbedder(bad, fail=True)
        with (
            running(create_app(healthy, token=None, limits=ServerLimits())) as ok_url,
            running(create_app(failing, token=None, limits=ServerLimits())) as failing_url,
        ):
            urls = [dead_url(), failing_url, ok_url]
            with RemoteEmbedder(urls, chunk_size=4, retries=1, backoff_s=0.01) as client:
                assert client.info.model_tag == local_table.column("model_tag")[0].as_py()
                table = client.embed(refs)
    assert failing.calls >= 1
    assert_same_results(table, local_table)


def test_client_chunks_aligned_with_batches_give_identical_bytes(
    model: LoadedModel, lake: Path, refs
) -> None:
    valid = [r for r in refs if r.uri.endswith(".png")]
    with make_engine(model, lake) as engine:
        expected = engine.embed(valid)
        with (
            running(create_app(engine, token=None, limits=ServerLimits())) as url,
            RemoteEmbedder([url, dead_url()], chunk_size=8) as client,
        ):
            table = client.embed(valid)
    assert table.equals(expected)


def test_all_sidecars_down_is_an_error(refs) -> None:
    with (
        RemoteEmbedder([dead_url()], retries=1, backoff_s=0.01) as client,
        pytest.raises(EmbedderError, match="no sidecar"),
    ):
        client.embed(refs[:2])


def test_sidecars_with_different_models_are_refused(
    model: LoadedModel, lake: Path, tmp_path: Path, refs
) -> None:
    other = load_model(TINY_MODEL, str(ensure_demo_checkpoint(tmp_path / "s1.pt", 1)), "cpu")
    with (
        make_engine(model, lake) as a,
        make_engine(other, lake) as b,
        running(create_app(a, token=None, limits=ServerLimits())) as url_a,
        running(create_app(b, token=None, limits=ServerLimits())) as url_b,
    ):
        with (
            RemoteEmbedder([url_a, url_b], chunk_size=2) as client,
            pytest.raises(EmbedderError, match="different models"),
        ):
            client.embed(refs)
        with (
            RemoteEmbedder([url_a, url_b]) as client,
            pytest.raises(EmbedderError, match="different models"),
        ):
            _ = client.info


def test_without_urls_the_engine_runs_in_process(
    weights: Path, lake: Path, refs, local_table: pa.Table
) -> None:
    settings = EmbedSettings.from_env(
        {"DATAPROC_LAKE": str(lake)},
        model=TINY_MODEL,
        pretrained=str(weights),
        device="cpu",
        batch_size=4,
    )
    assert settings.urls == ()
    assert embed_refs(refs, settings).equals(local_table)


def assert_same_results(table: pa.Table, expected: pa.Table) -> None:
    """Same rows, keys, sizes, errors and tag; vectors equal up to float rounding.

    Different chunking changes which images share a batch, which can move the last bit.
    """
    for name in ("image_key", "width", "height", "error", "model_tag"):
        assert table.column(name).equals(expected.column(name)), name
    got = table.column("embedding").to_pylist()
    want = expected.column("embedding").to_pylist()
    assert [g is None for g in got] == [w is None for w in want]
    pairs = [(g, w) for g, w in zip(got, want, strict=True) if w is not None]
    np.testing.assert_allclose([g for g, _ in pairs], [w for _, w in pairs], atol=1e-6)
