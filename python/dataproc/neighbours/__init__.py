"""Near-duplicate neighbours of image embeddings, with a USearch index persisted in the lake.

- `search`: embeddings streamed to a scratch file of vectors with exact cosines, the index
  settings, and queries for every neighbour above a cosine threshold;
- `state`: the index of one model tag under `state/index/<model_tag>/`, committed through
  `Lake.commit` (files first, manifest last);
- `edges`: the `int_identity_embedding_edges` stage: identity edges of kind `embedding`,
  incremental runs equal to a full run.
"""
