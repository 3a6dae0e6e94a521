"""Identity: cluster image keys that show the same picture and give each cluster a stable ID.

`build_identity` runs one pass and commits the state under `state/identity/` in the lake;
`read_redirects` and `read_splits` read what the last commit recorded.
"""

from dataproc.identity.build import (
    IDENTITY_SCHEMA,
    IdentityResult,
    build_identity,
    compute_identity,
    read_redirects,
    read_splits,
)
from dataproc.identity.settings import IdentitySettings

__all__ = [
    "IDENTITY_SCHEMA",
    "IdentityResult",
    "IdentitySettings",
    "build_identity",
    "compute_identity",
    "read_redirects",
    "read_splits",
]
