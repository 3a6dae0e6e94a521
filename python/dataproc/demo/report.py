"""What a demo run wrote, for the command line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class DemoReport:
    lake: str
    seed: int
    posts: int
    images: bool
    rows: dict[str, int] = field(default_factory=dict)
    source_images: dict[str, int] = field(default_factory=dict)
    files: int = 0
    shards: int = 0
    members: int = 0
    pictures: int = 0
    hostile: Counter[str] = field(default_factory=Counter)
    objects: int = 0
    bytes_written: int = 0
    stale_removed: int = 0
    elapsed_s: float = 0.0

    def describe(self) -> str:
        """A short human summary."""
        mode = "with images" if self.images else "metadata only"
        lines = [
            f"demo lake {self.lake} (seed {self.seed}, {self.posts} posts per source, {mode})",
            "  raw rows:  "
            + ", ".join(f"{source} {count:,}" for source, count in self.rows.items()),
            "  images:    "
            + ", ".join(f"{source} {count:,}" for source, count in self.source_images.items()),
        ]
        if self.images:
            lines.append(
                f"  stored:    {self.files:,} image files, {self.shards:,} tar shards "
                f"({self.members:,} members)"
            )
            hostile = ", ".join(f"{kind} {n}" for kind, n in sorted(self.hostile.items()))
            lines.append(f"  hostile:   {sum(self.hostile.values())} ({hostile})")
        lines.append(f"  ground truth: {self.pictures:,} image keys")
        lines.append(
            f"  wrote {self.objects:,} objects, {self.bytes_written / 1e6:,.1f} MB"
            + (f", removed {self.stale_removed} stale" if self.stale_removed else "")
            + f" in {self.elapsed_s:.1f} s"
        )
        return "\n".join(lines)
