"""Each site's date format, from unix milliseconds, built as fixed-width bytes with numpy.

Times are shifted into the site's local offset and converted to calendar fields with integer
arithmetic (Howard Hinnant's `civil_from_days`), so no time zone database or locale is involved
and millions of rows format in well under a second.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

HOUR_MS = 3_600_000
DAY_S = 86_400
_WEEKDAYS = np.frombuffer(b"SunMonTueWedThuFriSat", dtype=np.uint8).reshape(7, 3)
_MONTHS = np.frombuffer(b"JanFebMarAprMayJunJulAugSepOctNovDec", dtype=np.uint8).reshape(12, 3)

Piece = np.ndarray | bytes


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 (proleptic Gregorian)."""
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _digit_table(width: int, stride: int) -> np.ndarray:
    """Zero-padded ASCII digits of 0..10**width-1, one `stride`-byte word per value.

    Gathering whole words (uint16/uint32) is much faster than gathering rows of bytes.
    """
    values = np.arange(10**width, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    table = np.zeros((len(values), stride), dtype=np.uint8)
    table[:, :width] = (values[:, None] // powers[None, :]) % 10 + 48
    return table.view(np.uint16 if stride == 2 else np.uint32).ravel()


_TWO = _digit_table(2, 2)
_THREE = _digit_table(3, 4)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits, shape (n, width), as ASCII bytes (width 2, 3 or 4)."""
    if width == 2:
        return _TWO[values].view(np.uint8).reshape(-1, 2)
    if width == 3:
        return _THREE[values].view(np.uint8).reshape(-1, 4)[:, :3]
    return np.concatenate([_digits(values // 100, 2), _digits(values % 100, 2)], axis=1)


def _strings(n: int, pieces: list[Piece]) -> pa.Array:
    """Concatenate per-row byte blocks and literals into a fixed-width string array."""
    blocks = [
        np.broadcast_to(np.frombuffer(p, np.uint8), (n, len(p))) if isinstance(p, bytes) else p
        for p in pieces
    ]
    matrix = np.ascontiguousarray(np.concatenate(blocks, axis=1))
    width = matrix.shape[1]
    offsets = np.arange(0, n * width + 1, max(width, 1), dtype=np.int32)[: n + 1]
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes())]
    )


class _Fields:
    """Calendar fields of local times given as unix milliseconds."""

    def __init__(self, local_ms: np.ndarray) -> None:
        ms = np.asarray(local_ms, dtype=np.int64)
        seconds = np.floor_divide(ms, 1000)
        days = np.floor_divide(seconds, DAY_S)
        of_day = seconds - days * DAY_S
        self.n = len(ms)
        self.year, self.month, self.day = _civil(days)
        self.hour = of_day // 3600
        self.minute = of_day // 60 % 60
        self.second = of_day % 60
        self.milli = ms - seconds * 1000
        self.weekday = (days + 4) % 7  # 1970-01-01 was a Thursday

    def date(self, sep: bytes) -> list[Piece]:
        return [_digits(self.year, 4), sep, _digits(self.month, 2), sep, _digits(self.day, 2)]

    def clock(self, sep: bytes) -> list[Piece]:
        return [_digits(self.hour, 2), sep, _digits(self.minute, 2), sep, _digits(self.second, 2)]


def danbooru_time(ms: np.ndarray) -> pa.Array:
    """`2021-03-04T12:34:56.789-05:00`: US Eastern, -04:00 from April to October."""
    month = _Fields(ms).month
    summer = (month >= 4) & (month <= 10)
    f = _Fields(ms + np.where(summer, -4, -5) * HOUR_MS)
    offset = np.where(summer[:, None], np.frombuffer(b"4", np.uint8), np.frombuffer(b"5", np.uint8))
    pieces = [*f.date(b"-"), b"T", *f.clock(b":"), b".", _digits(f.milli, 3), b"-0", offset, b":00"]
    return _strings(f.n, pieces)


def gelbooru_time(ms: np.ndarray) -> pa.Array:
    """`Sat Mar 06 12:34:56 -0500 2021` (strptime `%a %b %d %H:%M:%S %z %Y`)."""
    f = _Fields(ms - 5 * HOUR_MS)
    pieces = [
        _WEEKDAYS[f.weekday],
        b" ",
        _MONTHS[f.month - 1],
        b" ",
        _digits(f.day, 2),
        b" ",
        *f.clock(b":"),
        b" -0500 ",
        _digits(f.year, 4),
    ]
    return _strings(f.n, pieces)


def pixiv_time(ms: np.ndarray) -> pa.Array:
    """`2021-03-04T21:34:56+09:00` (Japan time)."""
    f = _Fields(ms + 9 * HOUR_MS)
    return _strings(f.n, [*f.date(b"-"), b"T", *f.clock(b":"), b"+09:00"])


def pximg_date_path(ms: np.ndarray) -> pa.Array:
    """`2021/03/04/21/34/56`: the date folders of an i.pximg.net URL (Japan time)."""
    f = _Fields(ms + 9 * HOUR_MS)
    return _strings(f.n, [*f.date(b"/"), b"/", *f.clock(b"/")])
