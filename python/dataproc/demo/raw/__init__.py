"""Raw parquet tables per source, with the sites' own field names and formats."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from dataproc.demo.context import RawContext
from dataproc.demo.raw.danbooru import danbooru_table
from dataproc.demo.raw.gelbooru import gelbooru_table
from dataproc.demo.raw.pixiv import pixiv_table
from dataproc.demo.raw.yandere import yandere_table
from dataproc.demo.raw.zerochan import zerochan_table

TableBuilder = Callable[[RawContext, np.ndarray], pa.Table]

BUILDERS: dict[str, TableBuilder] = {
    "danbooru": danbooru_table,
    "gelbooru": gelbooru_table,
    "yandere": yandere_table,
    "pixiv": pixiv_table,
    "zerochan": zerochan_table,
}
