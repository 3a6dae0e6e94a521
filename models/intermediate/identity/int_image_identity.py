"""Stable cross-site image IDs: cluster image keys by identity edges, persist IDs in the lake.

A thin adapter over `dataproc.identity.build_identity`, which also commits the ID state under
`state/identity/` in the lake. Settings arrive through `meta` (see _identity__models.yml).
"""

from dataproc.identity import IdentitySettings, build_identity
from dataproc.lake import lake_root


def model(dbt, session):
    dbt.config(materialized="table")
    settings = IdentitySettings.from_meta(dbt.config.get("meta"))
    nodes = dbt.ref("int_identity_nodes").project("image_key").to_arrow_table()
    edges = dbt.ref("int_identity_edges").project("left_key, right_key, kind, score")
    result = build_identity(nodes, edges.to_arrow_table(), lake_root(), settings)
    return result.identity
