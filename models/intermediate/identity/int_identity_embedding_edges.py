"""Identity edges of kind `embedding`: near-duplicate images by cosine similarity.

A thin adapter over `dataproc.embeddings.embedding_edges` (USearch kNN, exact cosine kept when
at or above `near_dup_threshold`). Listed in the `identity_edge_models` var.
"""

from dataproc.embeddings.near_duplicates import embedding_edges
from dataproc.lake import lake_root


def model(dbt, session):
    dbt.config(materialized="table")
    meta = dbt.config.get("meta") or {}
    embeddings = (
        dbt.ref("int_image_embeddings")
        .filter("error is null")
        .project("image_key, embedding, model_tag")
        .to_arrow_table()
    )
    return embedding_edges(
        embeddings,
        lake_root(),
        threshold=float(meta["near_dup_threshold"]),
        k=int(meta["near_dup_neighbors"]),
    )
