"""Quality measurements against the demo lake's ground truth."""

from dataproc.evaluate.identity import IdentityScores, PairScores, score_identity

__all__ = ["IdentityScores", "PairScores", "score_identity"]
