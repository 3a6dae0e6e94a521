"""Tar header parsing and shard indexing by ranged reads."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from dataproc.catalog import scan_lake
from dataproc.catalog.tar import (
    HeaderError,
    checksum_ok,
    index_shard,
    parse_header,
    parse_number,
    parse_pax_records,
)
from dataproc.lake import Lake
from test_catalog_lakes import (
    END_OF_ARCHIVE,
    RawTar,
    noise_image,
    raw_header,
    tar_with,
    tarfile_data_offsets,
    write,
)

LONG_NAME = "x" * 140 + "_p3.png"


def test_numbers_octal_and_base256():
    assert parse_number(b"00000001750\0") == 0o1750
    assert parse_number(b"  1750 \0\0\0\0\0") == 0o1750
    assert parse_number(b"\0" * 12) == 0
    assert parse_number(b"\x80" + (9 * 2**33).to_bytes(11, "big")) == 9 * 2**33
    with pytest.raises(HeaderError):
        parse_number(b"\xff" + b"\xff" * 11)
    with pytest.raises(HeaderError):
        parse_number(b"12x4\0")


def test_checksum_detects_a_flipped_byte():
    block = raw_header(b"1.png", 10)
    assert checksum_ok(block)
    flipped = bytearray(block)
    flipped[3] ^= 0x01
    assert not checksum_ok(bytes(flipped))
    with pytest.raises(HeaderError, match="checksum"):
        parse_header(bytes(flipped))


def test_header_needs_the_ustar_magic():
    with pytest.raises(HeaderError, match="no ustar magic"):
        parse_header(raw_header(b"1.png", 5, magic=b"\0" * 8))


def test_ustar_prefix_joins_name_but_gnu_magic_ignores_it():
    ustar = parse_header(raw_header(b"1.png", 5, prefix=b"deep/dir"))
    assert ustar.name == b"deep/dir/1.png"
    assert ustar.size == 5
    assert ustar.is_regular
    gnu = parse_header(raw_header(b"1.png", 5, magic=b"ustar  \0", prefix=b"junk"))
    assert gnu.name == b"1.png"


def test_entry_types():
    assert parse_header(raw_header(b"a.png", 0, b"2", linkname=b"b.png")).type_name == "symlink"
    assert parse_header(raw_header(b"a.png", 0, b"1", linkname=b"b.png")).type_name == "hardlink"
    assert parse_header(raw_header(b"d/", 0, b"5")).type_name == "directory"
    assert parse_header(raw_header(b"d/", 0, b"0")).type_name == "directory"
    assert parse_header(raw_header(b"a.png", 3, b"\0")).type_name == "regular"


def test_pax_records():
    body = b"30 path=some/long/name_p0.png\n17 size=99999999\n"
    assert parse_pax_records(body) == {"path": "some/long/name_p0.png", "size": "99999999"}
    with pytest.raises(HeaderError):
        parse_pax_records(b"99 path=short\n")


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_offsets_match_tarfile(tmp_path: Path, fmt: int):
    long_name = "deep/" + "y" * 95 + ".png" if fmt == tarfile.USTAR_FORMAT else LONG_NAME
    members = [
        ("1.jpg", noise_image(1, "JPEG")),
        ("1.json", b'{"id": 1}'),
        (long_name, noise_image(2)),
        ("ü_p0.webp", noise_image(3, "WEBP")),
        ("empty.gif", b""),
    ]
    shard = tar_with(members, fmt)
    write(tmp_path, "s.tar", shard)
    index = index_shard(Lake(str(tmp_path)), "s.tar")
    assert index.problems == ()
    assert index.size == len(shard)
    found = {member.name: (member.data_offset, member.size) for member in index.members}
    oracle = tarfile_data_offsets(shard)
    assert found == {name: (oracle[name], len(data)) for name, data in members}
    for member in index.members:
        assert member.type_name == "regular"


def test_reads_headers_not_data(tmp_path: Path):
    images = [noise_image(seed, side=128) for seed in range(6)]
    shard = tar_with([(f"{i}.png", data) for i, data in enumerate(images)])
    write(tmp_path, "big.tar", shard)
    index = index_shard(Lake(str(tmp_path)), "big.tar", read_ahead=1024)
    assert [member.name for member in index.members] == [f"{i}.png" for i in range(6)]
    # one window per header, plus one for the end-of-archive block
    assert index.requests == 7
    assert index.bytes_read <= 7 * 1024
    assert index.bytes_read * 20 < len(shard)


def test_sidecars_share_a_read_with_the_next_header(tmp_path: Path):
    members = []
    for i in range(4):
        members += [(f"{i}.png", noise_image(i, side=96)), (f"{i}.json", b'{"k": 1}')]
    write(tmp_path, "s.tar", tar_with(members))
    index = index_shard(Lake(str(tmp_path)), "s.tar", read_ahead=4096)
    assert len(index.members) == 8
    # the json header, its data and the next png header arrive in one window
    assert index.requests == 5


def test_gnu_long_name_and_pax_path(tmp_path: Path):
    raw = RawTar()
    first = raw.add_long_name(LONG_NAME, b"A" * 700)
    second = raw.add_pax({"path": "pax/named_p1.png"}, "short.png", b"B" * 10)
    third = raw.add("plain.png", b"C" * 3)
    write(tmp_path, "s.tar", raw.finish())
    index = index_shard(Lake(str(tmp_path)), "s.tar")
    assert index.problems == ()
    assert [(m.name, m.data_offset, m.size) for m in index.members] == [
        (LONG_NAME, first, 700),
        ("pax/named_p1.png", second, 10),
        ("plain.png", third, 3),
    ]
    assert tarfile_data_offsets(raw.finish()) == {
        LONG_NAME: first,
        "pax/named_p1.png": second,
        "plain.png": third,
    }


def test_pax_size_overrides_header_size(tmp_path: Path):
    raw = RawTar()
    raw.add_pax({"size": "1000"}, "sized.png", b"")  # header says 0 bytes
    raw.data += b"D" * 1000 + b"\0" * 24
    last = raw.add("after.png", b"E")
    write(tmp_path, "s.tar", raw.finish())
    index = index_shard(Lake(str(tmp_path)), "s.tar")
    assert [(m.name, m.size) for m in index.members] == [("sized.png", 1000), ("after.png", 1)]
    assert index.members[1].data_offset == last


def test_links_and_dirs_have_no_data_blocks(tmp_path: Path):
    raw = RawTar()
    raw.add("link.png", typeflag=b"2", linkname=b"/etc/passwd")
    raw.add("dir/", typeflag=b"5")
    after = raw.add("1.png", b"F" * 600)
    write(tmp_path, "s.tar", raw.finish())
    index = index_shard(Lake(str(tmp_path)), "s.tar")
    assert [(m.name, m.type_name) for m in index.members] == [
        ("link.png", "symlink"),
        ("dir/", "directory"),
        ("1.png", "regular"),
    ]
    assert index.members[2].data_offset == after


def test_truncated_inside_member_keeps_earlier_members(tmp_path: Path):
    raw = RawTar()
    raw.add("1.png", b"G" * 100)
    raw.add("2.png", b"H" * 5000)
    header_offset = 1024
    write(tmp_path, "s.tar", raw.cut(header_offset + 512 + 100))
    index = index_shard(Lake(str(tmp_path)), "s.tar")
    assert [m.name for m in index.members] == ["1.png"]
    (problem,) = index.problems
    assert problem.reason == "truncated_shard"
    assert problem.offset == header_offset
    assert problem.member == "2.png"
    assert problem.detail == "entry at 1024 needs bytes up to 6536; shard is 1636 bytes"


@pytest.mark.parametrize(
    ("cut", "detail"),
    [(1024, "no end-of-archive marker; shard ends at 1024"), (1124, "partial header at 1024")],
)
def test_truncated_at_or_inside_a_header(tmp_path: Path, cut: int, detail: str):
    raw = RawTar()
    raw.add("1.png", b"G" * 100)
    raw.add("2.png", b"H" * 100)
    write(tmp_path, "s.tar", raw.cut(cut))
    index = index_shard(Lake(str(tmp_path)), "s.tar")
    assert [m.name for m in index.members] == ["1.png"]
    (problem,) = index.problems
    assert problem.reason == "truncated_shard"
    assert problem.member is None
    assert problem.detail.startswith(detail)


def test_bad_checksum_rejects_only_that_member(tmp_path: Path):
    raw = RawTar()
    raw.add("1.png", b"G" * 100)
    raw.add("2.png", b"H" * 100)
    raw.add("3.png", b"I" * 100)
    data = bytearray(raw.finish())
    data[1024 + 148] = ord("7")  # a wrong checksum digit in the header of 2.png
    write(tmp_path, "s.tar", bytes(data))
    index = index_shard(Lake(str(tmp_path)), "s.tar")
    assert [m.name for m in index.members] == ["1.png", "3.png"]
    assert index.members[1].data_offset == raw.offsets["3.png"]
    (problem,) = index.problems
    assert (problem.reason, problem.offset, problem.member) == ("bad_tar_header", 1024, "2.png")
    assert problem.detail == (
        "header checksum does not match (header at 1024); next valid header at 2048"
    )


def lying_shard(count: int, liar: int, told_size: int) -> tuple[RawTar, bytes]:
    """A shard of `count` images whose member `liar` says it has `told_size` bytes; its
    header checksum is recomputed, so only the size is wrong."""
    raw = RawTar()
    for i in range(count):
        raw.add(f"{i}.png", noise_image(i, side=48))
    data = bytearray(raw.finish())
    header = raw.offsets[f"{liar}.png"] - 512
    block = bytearray(data[header : header + 512])
    block[124:136] = b"%011o\0" % told_size
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    data[header : header + 512] = block
    return raw, bytes(data)


@pytest.mark.parametrize(
    "told",
    [
        pytest.param(lambda real: real * 3, id="too-long"),
        pytest.param(lambda real: real // 3, id="too-short"),
        pytest.param(lambda real: 10**9, id="past-the-end"),
    ],
)
def test_a_lying_size_field_loses_only_that_member(tmp_path: Path, told):
    real = len(noise_image(3, side=48))
    raw, shard = lying_shard(count=40, liar=3, told_size=told(real))
    write(tmp_path, "s.tar", shard)
    index = index_shard(Lake(str(tmp_path)), "s.tar", read_ahead=1024)
    kept = [m.name for m in index.members]
    assert kept == [f"{i}.png" for i in range(40) if i != 3]
    for member in index.members:
        assert member.data_offset == raw.offsets[member.name]
    (problem,) = index.problems
    assert (problem.reason, problem.member) == ("bad_tar_header", "3.png")
    assert problem.offset == raw.offsets["3.png"] - 512
    assert problem.detail.endswith(f"next valid header at {raw.offsets['4.png'] - 512}")
    # the scan reads forward from the broken member, never the whole shard
    assert index.bytes_read < len(shard) / 2


def test_a_header_without_magic_is_rejected_and_the_walk_goes_on(tmp_path: Path):
    raw = RawTar()
    raw.add("1.png", b"G" * 100)
    raw.add("2.png", b"H" * 100, magic=b"\0" * 8)
    raw.add("3.png", b"I" * 100)
    write(tmp_path, "s.tar", raw.finish())
    index = index_shard(Lake(str(tmp_path)), "s.tar")
    assert [m.name for m in index.members] == ["1.png", "3.png"]
    (problem,) = index.problems
    assert (problem.reason, problem.offset) == ("bad_tar_header", 1024)
    assert problem.detail.startswith("no ustar magic")


def test_a_broken_last_header_is_the_only_reject(tmp_path: Path):
    raw = RawTar()
    raw.add("1.png", b"G" * 100)
    raw.add("2.png", b"H" * 100)
    data = bytearray(raw.finish())
    data[1024 + 148] = ord("7")
    write(tmp_path, "s.tar", bytes(data))
    index = index_shard(Lake(str(tmp_path)), "s.tar")
    assert [m.name for m in index.members] == ["1.png"]
    (problem,) = index.problems
    assert problem.member == "2.png"
    assert problem.detail.endswith("next valid header at 2048")


def test_empty_and_marker_only_shards(tmp_path: Path):
    write(tmp_path, "empty.tar", b"")
    write(tmp_path, "marker.tar", END_OF_ARCHIVE)
    lake = Lake(str(tmp_path))
    empty = index_shard(lake, "empty.tar")
    assert empty.members == ()
    assert [problem.reason for problem in empty.problems] == ["empty_file"]
    assert empty.requests == 0
    marker = index_shard(lake, "marker.tar")
    assert marker.members == ()
    assert marker.problems == ()


def test_non_utf8_name(tmp_path: Path):
    raw = RawTar()
    raw.data += raw_header(b"\xff\xfe.png", 1)
    raw.data += b"J" + b"\0" * 511
    write(tmp_path, "s.tar", raw.finish())
    (member,) = index_shard(Lake(str(tmp_path)), "s.tar").members
    assert member.name is None
    assert member.display_name == "\\xff\\xfe.png"


@pytest.mark.parametrize("size", ["-5", "12x", "²"])
def test_bad_pax_size_rejects_only_its_entry(tmp_path: Path, size: str):
    raw = RawTar()
    raw.add("1.png", b"K" * 10)
    raw.add_pax({"size": size}, "2.png", b"L")
    raw.add("3.png", b"M" * 10)
    write(tmp_path, "s.tar", raw.finish())
    index = index_shard(Lake(str(tmp_path)), "s.tar")
    assert [m.name for m in index.members] == ["1.png", "3.png"]
    (problem,) = index.problems
    assert (problem.reason, problem.offset, problem.member) == ("bad_tar_header", 1024, "2.png")


def test_one_lying_size_field_in_a_large_shard_costs_one_image(tmp_path: Path):
    """The scan of a 199-image shard whose fourth member lies about its size: 198 images are
    catalogued and the liar is the only reject, so no post of the others is `missing_image`."""
    raw, shard = lying_shard(count=199, liar=3, told_size=5 * len(noise_image(3, side=48)))
    write(tmp_path, "shards/danbooru/000.tar", shard)
    scan = scan_lake(Lake(str(tmp_path)))
    catalogued = scan.catalog["image_key"].to_pylist()
    assert len(catalogued) == 198 and "danbooru:3" not in catalogued
    assert scan.rejects.select(["image_key", "member", "stage", "reason"]).to_pylist() == [
        {
            "image_key": "danbooru:3",
            "member": "3.png",
            "stage": "catalog",
            "reason": "bad_tar_header",
        }
    ]
