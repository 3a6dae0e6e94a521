"""Why an image has no embedding: the values of the `error` column."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """A rejection reason, stored as its string value.

    The first five come from decoding, `missing` from fetching. A transient fetch failure
    (network, permissions) is not a reason: it raises, so the image is retried later instead of
    being recorded as bad.
    """

    EMPTY = "empty"
    NOT_AN_IMAGE = "not_an_image"
    TRUNCATED = "truncated"
    DECOMPRESSION_BOMB = "decompression_bomb"
    DECODE_ERROR = "decode_error"
    MISSING = "missing"
