"""Image embeddings with open_clip, checkpointed in the lake.

- `decode`: image refs, their bytes from the lake (ranged reads), and bytes -> model-ready
  tensor or a rejection reason;
- `contract`: the settings, what a model is and the rows it returns, without torch;
- `engine`: the open_clip model and its tag, and refs -> embeddings (decoding in a thread pool,
  overlapped with fixed-size model batches);
- `client`: the backend the pipeline uses: sidecars (`DATAPROC_EMBEDDER_URLS`) with fan-out and
  failover, or the engine in this process;
- `server`: the engine behind HTTP, and the `dataproc embedder` commands;
- `checkpoints`: the `int_image_embeddings` stage: embed only what `state/embeddings/<model_tag>/`
  lacks, one checkpointed chunk at a time.

Nothing heavy is imported here, so `import dataproc.embedding` stays cheap.
"""
