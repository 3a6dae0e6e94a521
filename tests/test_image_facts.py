"""An image's facts come from its bytes: two lying danbooru posts of the shared test lake.

One post says 680x453 for a 1x1 PNG, one says 2000x3000 and `jpg` for PNG bytes named `.jpg`
(conftest's `add_lying_image_posts`). The build must reject the first as `too_small` (it reaches
neither identity nor the merge) and export the second as a png with its decoded size, while the
metadata's values stay in the images mart's `danbooru__` columns.
"""

from __future__ import annotations

from conftest import RENAMED_CLAIMED_SIZE, DbtProject, LyingImagePosts


def test_a_tiny_image_that_claims_a_large_size_is_rejected_as_too_small(
    demo_build: DbtProject, lying_images: LyingImagePosts
) -> None:
    tiny_key = lying_images.tiny_key
    assert demo_build.query(
        "select stage, reason, detail from intermediate.int_image_embedding_rejections"
        f" where image_key = '{tiny_key}'"
    ) == [("embed", "too_small", "decoded 1x1, shorter side below min_side 256")]
    assert demo_build.query(
        f"select width, height, file_format from intermediate.int_image_files"
        f" where image_key = '{tiny_key}'"
    ) == [(1, 1, "png")]
    for table in ("intermediate.int_identity_nodes", "intermediate.int_image_members"):
        assert demo_build.query(f"select * from {table} where image_key = '{tiny_key}'") == []


def test_png_bytes_named_jpg_ship_as_png_with_their_decoded_size(
    demo_build: DbtProject, lying_images: LyingImagePosts
) -> None:
    renamed_key = lying_images.renamed_key
    width, height = lying_images.renamed_size
    (image_id,) = demo_build.query(
        f"select image_id from intermediate.int_image_members where image_key = '{renamed_key}'"
    )[0]
    assert demo_build.query(
        "select best_image_key, best_width, best_height, image_ext"
        f" from exports.export_rows where image_id = '{image_id}'"
    ) == [(renamed_key, width, height, "png")]
    metrics = demo_build.query(
        "select metric, coalesce(value::varchar, value_text)"
        " from intermediate.int_image_file_metrics"
        f" where image_key = '{renamed_key}' and metric in ('width', 'height', 'format')"
        " order by metric"
    )
    assert metrics == [
        ("format", "png"),
        ("height", f"{float(height)}"),
        ("width", f"{float(width)}"),
    ]
    # the metadata's values stay in the source's own columns
    assert demo_build.query(
        "select danbooru__width, danbooru__height, danbooru__file_ext"
        f" from marts.images where image_id = '{image_id}'"
    ) == [(*RENAMED_CLAIMED_SIZE, "jpg")]
