"""Embedding progress: count, rate and ETA, printed as chunks finish."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Progress:
    """Counts images as chunks finish and reports the rate and the time left."""

    total: int
    label: str = "embedded"
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    def update(self, count: int) -> str:
        self.done += count
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        line = (
            f"{self.label} {self.done}/{self.total} images "
            f"({100 * self.done / max(self.total, 1):.1f}%), {rate:.1f} img/s, ETA {eta:.0f} s"
        )
        print(line, file=self.stream, flush=True)
        return line
