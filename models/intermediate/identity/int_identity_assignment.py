"""One identity run: stable image IDs for the identity nodes, clustered by the identity edges.

A thin adapter over `dataproc.identity.build_identity`, which also commits the ID state under
`state/identity/` in the lake (this model's own state). Returns members, guard splits and ID
redirects in one table, told apart by `record_kind`; int_image_identity, int_identity_splits
and image_id_redirects select from it.
"""

from dataproc.config import read_settings
from dataproc.identity import IdentitySettings, build_identity
from dataproc.lake import Lake


def model(dbt, session):
    dbt.config(materialized="table")
    settings = read_settings(IdentitySettings, dbt.config.get("meta"))
    nodes = dbt.ref("int_identity_nodes").project("image_key").to_arrow_table()
    edges = dbt.ref("int_identity_edges").project("left_key, right_key, kind, score")
    return build_identity(nodes, edges.to_arrow_table(), Lake(), settings).records()
