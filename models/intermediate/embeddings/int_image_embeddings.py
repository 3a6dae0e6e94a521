"""Image embeddings for the current model tag, computed incrementally with checkpoints.

A thin adapter over `dataproc.embeddings`: only images not yet under
`state/embeddings/<model_tag>/` are sent to the embedder (sidecars named by
DATAPROC_EMBEDDER_URLS, or the in-process engine), one checkpointed chunk at a time. Settings
arrive through `meta` (see _embeddings__models.yml).
"""

from dataproc.embed.settings import EmbedSettings
from dataproc.embeddings import embed_with_settings


def model(dbt, session):
    dbt.config(materialized="table")
    meta = dbt.config.get("meta") or {}
    settings = EmbedSettings.from_env(
        model=meta["clip_model"],
        pretrained=meta["clip_pretrained"] or None,
        batch_size=int(meta["embed_batch_size"]),
        max_pixels=int(meta["embed_max_pixels"]),
    )
    refs = dbt.ref("int_posts_with_images").project('image_key, uri, "offset", length')
    return embed_with_settings(
        refs.to_arrow_table(), settings, chunk_rows=int(meta["embed_chunk_rows"])
    )
