"""One identity run: stable image IDs for the identity nodes, clustered by the identity edges.

A thin adapter over `dataproc.identity.build_identity`, which also commits the ID state under
`state/identity/` in the lake (this model's own state). Embedding edges below the threshold of
identity_calibration are dropped, and edges that would join a pair of
int_identity_cannot_links are refused. Returns members, guard splits, ID redirects and refused
edges in one table, told apart by `record_kind`; int_image_identity, int_identity_splits,
image_id_redirects and int_identity_refused_edges select from it.
"""

from dataproc.config import read_settings
from dataproc.identity import IdentitySettings, build_identity
from dataproc.lake import Lake


def model(dbt, session):
    # Rebuilt when its inputs or its ID state in the lake change (macros/memo/).
    dbt.config(materialized="memoized_table", memo_lake_files=["state/identity/*.json"])
    settings = read_settings(IdentitySettings, dbt.config.get("meta"))
    # Ordered here, so the graph keeps the keys as they come instead of sorting them again.
    nodes = dbt.ref("int_identity_nodes").project("image_key").order("image_key").to_arrow_table()
    edges = dbt.ref("int_identity_edges").project("left_key, right_key, kind, score")
    cannot_links = dbt.ref("int_identity_cannot_links").project("left_key, right_key, reason")
    (threshold,) = dbt.ref("identity_calibration").project("threshold").fetchone()
    return build_identity(
        nodes,
        edges.to_arrow_table(),
        Lake(),
        settings,
        cannot_links=cannot_links.to_arrow_table(),
        embedding_threshold=threshold,
    ).records()
