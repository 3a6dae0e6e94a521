"""Settings of the near-duplicate vector index (USearch HNSW).

The defaults are the ones `bench/neighbors.py` measured on clustered 512-d vectors (see
`bench/RESULTS.md`, section "neighbors"). Build parameters are baked into a persisted index; a
change to any of them makes the next run rebuild the index rather than mix two graphs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

METRICS = ("cos", "ip")
DTYPES = ("f32", "f16", "i8")

# How far the index's own similarity may sit below the exact cosine because of its storage type.
# Candidates within this slack of the threshold are re-scored exactly, so quantisation never
# drops a pair that passes. f16 keeps ~3 decimal digits per component (|error| << 0.01 on
# unit vectors); i8 is much coarser.
_SLACK_BY_DTYPE = {"f32": 1e-4, "f16": 1e-2, "i8": 1e-1}


@dataclass(frozen=True)
class IndexSettings:
    """How the HNSW index is built and searched.

    Attributes:
        metric: `cos` (cosine) or `ip` (inner product; equal to cosine on L2-normalised input).
        dtype: storage type of vectors inside the index: `f32`, `f16` or `i8`. Scores are always
            recomputed exactly from the input float32 vectors, so the dtype only affects recall
            and speed, never a reported score.
        connectivity: HNSW graph degree ("M").
        expansion_add: search width while inserting ("efConstruction").
        expansion_search: search width while querying ("ef"); a query that asks for more
            candidates than this searches at least that wide.
        max_candidates: cap on candidates fetched per query when a key has many neighbours above
            the threshold (dense duplicate groups). Below the cap, results are exact up to the
            index's recall; above it, a query keeps the index's best `max_candidates`.
        build_threads: threads used to insert vectors. HNSW insertion with more than one thread
            is not reproducible, so the default is 1; more threads build faster at the price of a
            graph (and, at the margin, edges) that can differ between runs. Not a build
            parameter: changing it does not force a rebuild.
        search_threads: threads used to query (0 = all cores). Queries do not change the graph,
            so searching is reproducible with any thread count.
    """

    metric: str = "cos"
    dtype: str = "f16"
    connectivity: int = 32
    expansion_add: int = 64
    expansion_search: int = 128
    max_candidates: int = 1024
    build_threads: int = 1
    search_threads: int = 0

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        for name in ("connectivity", "expansion_add", "expansion_search", "max_candidates"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.build_threads < 1 or self.search_threads < 0:
            raise ValueError("build_threads must be >= 1 and search_threads >= 0")

    @property
    def score_slack(self) -> float:
        """Margin below the threshold at which index similarities are re-scored exactly."""
        return _SLACK_BY_DTYPE[self.dtype]

    def build_params(self) -> dict[str, Any]:
        """The parameters that shape the graph; a persisted index is reused only if they match."""
        return {
            key: value
            for key, value in asdict(self).items()
            if key in ("metric", "dtype", "connectivity", "expansion_add")
        }

    def new_index(self, ndim: int):
        """An empty USearch index for `ndim`-dimensional vectors with these settings."""
        from usearch.index import Index

        return Index(
            ndim=ndim,
            metric=self.metric,
            dtype=self.dtype,
            connectivity=self.connectivity,
            expansion_add=self.expansion_add,
            expansion_search=self.expansion_search,
        )
