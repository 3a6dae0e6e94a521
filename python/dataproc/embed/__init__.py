"""Image embeddings with open_clip: in-process engine, HTTP sidecar and client.

The pieces, each in its own module:

- `model`: load open_clip weights (a hub tag or a local checkpoint) and name them by a model tag;
- `fetch` and `decode`: bytes from the lake by ranged reads, then a model-ready tensor or a
  rejection reason;
- `engine`: fetch and decode in a worker pool, overlapped with fixed-size model batches;
- `server` and `client`: the same engine behind HTTP, and a client that spreads work over
  several sidecars (`DATAPROC_EMBEDDER_URLS`) or runs the engine in-process when none is set.

Nothing heavy is imported here, so `import dataproc.embed` stays cheap.
"""
