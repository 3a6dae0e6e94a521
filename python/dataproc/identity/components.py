"""Connected components of the identity graph, with labels that do not depend on input order."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber cluster labels 0, 1, ... in order of each cluster's smallest member index.

    Nodes are numbered in sorted key order, so this makes label `c` mean "the c-th cluster when
    clusters are ordered by their smallest image key", whatever numbering the caller used.
    """
    if len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    position = np.empty(len(first), dtype=np.int64)
    position[np.argsort(first, kind="stable")] = np.arange(len(first), dtype=np.int64)
    return position[inverse.reshape(-1)]


def component_labels(num_nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Canonical connected-component label of every node of an undirected graph."""
    if num_nodes == 0:
        return np.zeros(0, dtype=np.int64)
    ones = np.ones(len(left), dtype=np.int8)
    graph = coo_matrix((ones, (left, right)), shape=(num_nodes, num_nodes)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return canonical_labels(labels)


def cluster_sizes(labels: np.ndarray) -> np.ndarray:
    """Size of the cluster of every node."""
    if len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.bincount(labels)[labels].astype(np.int64)
