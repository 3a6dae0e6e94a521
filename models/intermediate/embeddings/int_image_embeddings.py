"""Image embeddings for the current model tag, computed incrementally with checkpoints.

A thin adapter over `dataproc.embedding.checkpoints`: only images not yet under
`state/embeddings/<model_tag>/` are sent to the embedder (sidecars named by
DATAPROC_EMBEDDER_URLS, or the in-process engine), one checkpointed chunk at a time. The rows
stream back from the checkpoints into DuckDB in batches of 8,192 rows, under the
`vector_memory_limit` hooks. Settings arrive through `meta.settings` (see
_embeddings__models.yml).
"""

from dataproc.config import read_settings
from dataproc.embedding.checkpoints import ImageEmbeddingSettings, image_embeddings


def model(dbt, session):
    dbt.config(materialized="table")
    settings = read_settings(ImageEmbeddingSettings, dbt.config.get("meta"))
    refs = dbt.ref("int_posts_with_images").project('image_key, uri, "offset", length')
    return image_embeddings(refs.to_arrow_table(), settings)
