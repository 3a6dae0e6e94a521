"""Builders for the image-catalog tests: images, tar shards (standard and hand-made), lakes.

No tests here; the catalog test modules import these helpers.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
from dataproc.lake import Lake
from PIL import Image

BLOCK = 512
END_OF_ARCHIVE = b"\0" * (2 * BLOCK)


def noise_image(seed: int, fmt: str = "PNG", side: int = 64) -> bytes:
    """A small incompressible image, so shards are much larger than their headers."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


def write(root: Path, relpath: str, data: bytes) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def tar_with(members: list[tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A tar written by the standard `tarfile` module, members in the given order."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def tarfile_data_offsets(data: bytes) -> dict[str, int]:
    """Member name -> data offset, as the standard `tarfile` module reads them (the oracle)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {member.name: member.offset_data for member in tar.getmembers()}


def raw_header(
    name: bytes,
    size: int,
    typeflag: bytes = b"0",
    *,
    linkname: bytes = b"",
    magic: bytes = b"ustar\x0000",
    prefix: bytes = b"",
) -> bytes:
    """One ustar header block built by hand, with a valid checksum."""
    block = bytearray(BLOCK)
    block[0 : len(name)] = name[:100]
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = b"%011o\0" % size
    block[136:148] = b"14524520400\0"
    block[156:157] = typeflag
    block[157 : 157 + len(linkname)] = linkname
    block[257:265] = magic
    block[345 : 345 + len(prefix)] = prefix
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


class RawTar:
    """A tar assembled block by block, for names and layouts `tarfile` will not write."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.offsets: dict[str, int] = {}

    def add(self, name: str, payload: bytes = b"", typeflag: bytes = b"0", **header) -> int:
        """Append an entry; returns (and records under `name`) the offset of its data."""
        self.data += raw_header(name.encode(), len(payload), typeflag, **header)
        self.offsets[name] = len(self.data)
        self.data += padded(payload)
        return self.offsets[name]

    def add_long_name(self, name: str, payload: bytes) -> int:
        """A GNU `L` entry carrying `name`, then the regular entry it names."""
        long_name = name.encode() + b"\0"
        self.data += raw_header(b"././@LongLink", len(long_name), b"L", magic=b"ustar  \0")
        self.data += padded(long_name)
        self.data += raw_header(name.encode()[:100], len(payload), b"0", magic=b"ustar  \0")
        self.offsets[name] = len(self.data)
        self.data += padded(payload)
        return self.offsets[name]

    def add_pax(self, records: dict[str, str], stored_name: str, payload: bytes) -> int:
        """A pax `x` entry with `records`, then a regular entry stored as `stored_name`."""
        body = b""
        for key, value in records.items():
            text = f" {key}={value}\n".encode()
            length = len(text) + len(str(len(text)))
            if len(str(length)) != len(str(len(text))):
                length += 1
            body += str(length).encode() + text
        self.data += raw_header(b"PaxHeader/x", len(body), b"x")
        self.data += padded(body)
        self.data += raw_header(stored_name.encode(), len(payload))
        offset = len(self.data)
        self.offsets[records.get("path", stored_name)] = offset
        self.data += padded(payload)
        return offset

    def finish(self) -> bytes:
        return bytes(self.data) + END_OF_ARCHIVE

    def cut(self, length: int) -> bytes:
        """The archive so far, cut after `length` bytes (a truncated upload)."""
        return bytes(self.data[:length])


def read_back(lake: Lake, uri: str, offset: int, length: int) -> bytes:
    """The bytes a catalog row points at, through a ranged read."""
    return lake.get(uri, offset, offset + length)


LONG_KEY = "nested_" + "9" * 120


class MixedLake:
    """A lake with files and shards for three sources, hostile entries included.

    `images` maps each image_key that must be catalogued to its bytes; `catalog` and
    `rejects` are the exact expected rows, in the catalog's output order.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.images: dict[str, bytes] = {}
        self.catalog: list[dict] = []
        self.rejects: list[dict] = []
        self._files()
        self._danbooru_shards()
        self._pixiv_shards()

    def _image(self, image_key: str, uri: str, offset: int, data: bytes, ext: str) -> None:
        source, key = image_key.split(":", 1)
        self.images[image_key] = data
        self.catalog.append(
            {
                "image_key": image_key,
                "source": source,
                "key": key,
                "uri": uri,
                "offset": offset,
                "length": len(data),
                "ext": ext,
                "bytes": len(data),
            }
        )

    def _reject(self, image_key, uri, member, reason, detail) -> None:
        source = uri.split("/")[1]
        self.rejects.append(
            {
                "image_key": image_key,
                "source": source,
                "uri": uri,
                "member": member,
                "stage": "catalog",
                "reason": reason,
                "detail": detail,
            }
        )

    def _files(self) -> None:
        root = self.root
        files = {
            "images/danbooru/00/1001.png": noise_image(1001),
            "images/danbooru/00/1001.json": b'{"id": 1001}',
            "images/danbooru/01/1002.JPG": noise_image(1002, "JPEG"),
            "images/danbooru/1003.webp": noise_image(1003, "WEBP"),
            "images/danbooru/1004.bmp": noise_image(1004, "BMP"),
            "images/danbooru/1005.png": b"",
            "images/danbooru/notes": b"not an image",
            "images/danbooru/.png": noise_image(1006),
            "images/gelbooru/7.gif": noise_image(7, "GIF"),
        }
        for relpath, data in files.items():
            write(root, relpath, data)
        for image_key, relpath, ext in [
            ("danbooru:1001", "images/danbooru/00/1001.png", "png"),
            ("danbooru:1002", "images/danbooru/01/1002.JPG", "jpg"),
            ("danbooru:1003", "images/danbooru/1003.webp", "webp"),
        ]:
            self._image(image_key, relpath, 0, files[relpath], ext)
        for image_key, relpath, reason, detail in [
            (
                None,
                ".png",
                "missing_key",
                "name 'images/danbooru/.png' has no key before the extension",
            ),
            (
                "danbooru:1004",
                "1004.bmp",
                "unsupported_extension",
                "extension 'bmp' is not an image",
            ),
            ("danbooru:1005", "1005.png", "empty_file", "image is 0 bytes"),
            ("danbooru:notes", "notes", "unsupported_extension", "extension '' is not an image"),
        ]:
            self._reject(image_key, f"images/danbooru/{relpath}", None, reason, detail)
        self._image("gelbooru:7", "images/gelbooru/7.gif", 0, files["images/gelbooru/7.gif"], "gif")

    def _danbooru_shards(self) -> None:
        uri = "shards/danbooru/000.tar"
        members = [
            ("1001.webp", noise_image(11001, "WEBP", side=96)),
            ("2001.jpeg", noise_image(2001, "JPEG", side=96)),
            ("2001.json", b'{"id": 2001}'),
            ("2002.png", noise_image(2002, side=96)),
            ("2003.txt", b"a caption"),
            ("2004.cls", b"3"),
        ]
        shard = tar_with(members)
        write(self.root, uri, shard)
        offsets = tarfile_data_offsets(shard)
        data = dict(members)
        self._reject(
            "danbooru:1001",
            uri,
            "1001.webp",
            "duplicate_key",
            "kept images/danbooru/00/1001.png at offset 0",
        )
        self._image("danbooru:2001", uri, offsets["2001.jpeg"], data["2001.jpeg"], "jpeg")
        self._image("danbooru:2002", uri, offsets["2002.png"], data["2002.png"], "png")
        self._reject(
            "danbooru:2004",
            uri,
            "2004.cls",
            "unsupported_extension",
            "extension 'cls' is not an image",
        )

        uri = "shards/danbooru/001.tar"
        raw = RawTar()
        raw.add("../evil.png", noise_image(1))
        raw.add("/etc/x.png", noise_image(2))
        raw.add("link.png", typeflag=b"2", linkname=b"../../etc/passwd")
        raw.add("dir/", typeflag=b"5")
        long_data, plain_data = noise_image(2005), noise_image(2006)
        raw.add_long_name(f"deep/{LONG_KEY}.png", long_data)
        raw.add("2006.png", plain_data)
        cut_at = len(raw.data)
        raw.add("2007.png", noise_image(2007))
        shard = raw.cut(cut_at + 600)
        write(self.root, uri, shard)
        self._reject(
            "danbooru:evil", uri, "../evil.png", "path_traversal", "unsafe name '../evil.png'"
        )
        self._reject("danbooru:x", uri, "/etc/x.png", "absolute_path", "unsafe name '/etc/x.png'")
        self._reject("danbooru:link", uri, "link.png", "non_regular_member", "symlink entry")
        self._reject(None, uri, "dir/", "non_regular_member", "directory entry")
        self._image(
            f"danbooru:{LONG_KEY}", uri, raw.offsets[f"deep/{LONG_KEY}.png"], long_data, "png"
        )
        self._image("danbooru:2006", uri, raw.offsets["2006.png"], plain_data, "png")
        needed = cut_at + 512 + len(noise_image(2007))
        self._reject(
            "danbooru:2007",
            uri,
            "2007.png",
            "truncated_shard",
            f"entry at {cut_at} needs bytes up to {needed}; shard is {len(shard)} bytes",
        )

    def _pixiv_shards(self) -> None:
        uri = "shards/pixiv/000.tar"
        members = [
            ("555_p0.png", noise_image(5550, side=96)),
            ("555_p1.webp", noise_image(5551, "WEBP", side=96)),
            ("777_p0.png", noise_image(7770, side=96)),
            ("777_p0.json", b'{"illust_id": 777}'),
        ]
        shard = tar_with(members, tarfile.GNU_FORMAT)
        write(self.root, uri, shard)
        offsets = tarfile_data_offsets(shard)
        for name, data in members[:3]:
            key, ext = name.rsplit(".", 1)
            self._image(f"pixiv:{key}", uri, offsets[name], data, ext)
        first_copy = offsets["555_p0.png"]

        uri = "shards/pixiv/001.tar"
        raw = RawTar()
        raw.add("555_p0.png", noise_image(5550))
        raw.add("888_p0.png", noise_image(8880))
        bad_at = len(raw.data)
        raw.add("889_p0.png", noise_image(8890))
        raw.add("890_p0.png", noise_image(8900))
        shard = bytearray(raw.finish())
        shard[bad_at + 148] = ord("7")  # a wrong checksum digit
        write(self.root, uri, bytes(shard))
        self._reject(
            "pixiv:555_p0",
            uri,
            "555_p0.png",
            "duplicate_key",
            f"kept shards/pixiv/000.tar at offset {first_copy}",
        )
        self._image("pixiv:888_p0", uri, raw.offsets["888_p0.png"], noise_image(8880), "png")
        next_header = raw.offsets["890_p0.png"] - 512
        self._reject(
            "pixiv:889_p0",
            uri,
            "889_p0.png",
            "bad_tar_header",
            f"header checksum does not match (header at {bad_at}); "
            f"next valid header at {next_header}",
        )
        self._image("pixiv:890_p0", uri, raw.offsets["890_p0.png"], noise_image(8900), "png")

        write(self.root, "shards/pixiv/empty.tar", b"")
        self._reject(None, "shards/pixiv/empty.tar", None, "empty_file", "shard is 0 bytes")
        write(self.root, "shards/pixiv/extra.tar.gz", b"\x1f\x8b" + b"\0" * 30)
        self._reject(
            None,
            "shards/pixiv/extra.tar.gz",
            None,
            "unsupported_shard",
            "shards must be uncompressed .tar files",
        )
