"""Identity edges of kind `embedding`: near-duplicate candidates by cosine similarity.

A thin adapter over `dataproc.neighbours.edges.embedding_edges` (USearch kNN, exact cosine kept
at or above `near_dup_candidate_floor`; identity applies the calibrated threshold). The
embeddings stream from DuckDB in batches of `READ_BATCH_ROWS` (as the checkpoints are read),
under the `vector_memory_limit` hooks. Listed in the `identity_edge_models` var. Settings
arrive through `meta.settings` (see _identity_edges__models.yml).
"""

from dataproc.config import read_settings
from dataproc.embedding.checkpoints import READ_BATCH_ROWS
from dataproc.lake import Lake
from dataproc.neighbours.edges import NearDuplicateSettings, embedding_edges


def model(dbt, session):
    # Rebuilt when its inputs or its index in the lake change (macros/memo/).
    dbt.config(materialized="memoized_table", memo_lake_files=["state/index/*/manifest.json"])
    settings = read_settings(NearDuplicateSettings, dbt.config.get("meta"))
    embeddings = (
        dbt.ref("int_image_embeddings")
        .filter("error is null")
        .project("image_key, embedding, model_tag")
    )
    return embedding_edges(embeddings.to_arrow_reader(READ_BATCH_ROWS), settings, Lake())
