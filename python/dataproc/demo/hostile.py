"""Bytes that pretend to be images: what a crawl really leaves behind now and then."""

from __future__ import annotations

import struct
import zlib

from dataproc.demo import codes as c

HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>\n"
    b"<body><h1>Forbidden</h1><p>You don't have permission to access this resource.</p>"
    b"</body></html>\n"
)
BOMB_SIDE = 60_000


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png(side: int = BOMB_SIDE) -> bytes:
    """A PNG whose header declares side x side RGB pixels, with only a token of pixel data."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 4096, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def hostile_bytes(kind: int, intended: bytes) -> bytes:
    """What is stored instead of the intended file for a hostile case."""
    if kind == c.CORRUPT:
        return intended[: max(1, len(intended) // 2)]
    if kind == c.ZERO_BYTE:
        return b""
    if kind == c.NOT_IMAGE:
        return HTML_PAGE
    if kind == c.HUGE_DIMENSIONS:
        return huge_png()
    raise ValueError(f"no stored bytes for hostile kind {c.HOSTILE[kind]}")
