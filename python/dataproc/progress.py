"""Progress bars for the long steps: one helper, so every stage shows them the same way.

In: an iterable, its total (when known), a short description and the unit counted. Out: the
same items, in order, while a `tqdm` bar with the count, the rate and the time left is drawn on
stderr (`progress`); or that bar itself, for work counted as it finishes (`progress_bar`). The
bar is drawn only when stderr is a terminal; `DATAPROC_PROGRESS=0` turns it off and
`DATAPROC_PROGRESS=1` turns it on anyway (a log file that wants the rates).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

from tqdm import tqdm

Item = TypeVar("Item")
PROGRESS_VAR = "DATAPROC_PROGRESS"


def progress_enabled(env: Mapping[str, str] | None = None, stream=None) -> bool:
    """Whether bars are drawn: `DATAPROC_PROGRESS` if set (`0` off, anything else on), else
    whether `stream` (default stderr) is a terminal."""
    env = os.environ if env is None else env
    setting = env.get(PROGRESS_VAR, "").strip()
    if setting:
        return setting not in ("0", "false", "no", "off")
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def progress_bar(total: int | None, desc: str, unit: str = "it", stream=None) -> tqdm:
    """A bar to `update` by hand with the count of `unit`s done, the rate and the time left,
    drawn on `stream` (default stderr) when `progress_enabled` says so."""
    stream = sys.stderr if stream is None else stream
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=stream,
        disable=not progress_enabled(stream=stream),
        dynamic_ncols=True,
    )


def progress(
    items: Iterable[Item], total: int | None = None, desc: str = "", unit: str = "it"
) -> Iterator[Item]:
    """Yield `items` while showing `desc`, the count of `unit`s, the rate and the time left."""
    with progress_bar(total, desc, unit) as bar:
        for item in items:
            yield item
            bar.update(1)
