"""Ranged reads of one object through obstore, with a read-ahead window and a byte count.

Indexing a shard walks header to header. Each miss fetches a window that starts at the
requested offset, so small members (WebDataset `.json` sidecars) and the header after them
come back in the same request, while large image bodies are skipped. The counters let callers
(and tests) check that indexing fetched far fewer bytes than the shard holds.
"""

from __future__ import annotations

from typing import Any

import obstore

DEFAULT_READ_AHEAD = 4096


class RangeReader:
    """Serves `read(start, length)` from one cached window, fetching a new one on a miss."""

    def __init__(self, store: Any, path: str, size: int, read_ahead: int = DEFAULT_READ_AHEAD):
        if read_ahead < 1:
            raise ValueError("read_ahead must be positive")
        self.store = store
        self.path = path
        self.size = size
        self.read_ahead = read_ahead
        self.bytes_read = 0
        self.requests = 0
        self._window = b""
        self._window_start = 0

    def read(self, start: int, length: int) -> bytes:
        """Bytes `[start, start + length)`; fewer when the object ends first."""
        end = min(start + length, self.size)
        if start >= end:
            return b""
        window_end = self._window_start + len(self._window)
        if not (self._window_start <= start and end <= window_end):
            fetch_end = min(self.size, max(end, start + self.read_ahead))
            data = bytes(obstore.get_range(self.store, self.path, start=start, end=fetch_end))
            self.bytes_read += len(data)
            self.requests += 1
            self._window, self._window_start = data, start
        offset = start - self._window_start
        return self._window[offset : offset + (end - start)]
