"""Incremental, checkpointed embeddings of the lake's images for one model tag."""

from dataproc.embeddings.checkpoints import EmbeddingCheckpoints
from dataproc.embeddings.incremental import embed_incrementally, embed_with_settings
from dataproc.embeddings.progress import Progress

__all__ = ["EmbeddingCheckpoints", "Progress", "embed_incrementally", "embed_with_settings"]
