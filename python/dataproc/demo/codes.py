"""Small integer codes the demo plan uses in its numpy arrays, and their names."""

from __future__ import annotations

SOURCES = ("danbooru", "gelbooru", "yandere", "pixiv", "zerochan")
FILE_SOURCES = ("danbooru", "yandere")
SHARD_SOURCES = ("gelbooru", "pixiv", "zerochan")

# How an image's bytes relate to its picture's first rendering (ground_truth `transform`).
ORIGINAL, SAME_FILE, RESIZED, REENCODED, CONVERTED, CROPPED, WATERMARKED = range(7)
TRANSFORMS = (
    "original",
    "same_file",
    "resized",
    "reencoded",
    "converted",
    "cropped",
    "watermarked",
)

# File extensions; the last three are danbooru's non-image post types (no image is stored).
JPG, JPEG, PNG, WEBP, GIF, MP4, WEBM, ZIP = range(8)
EXTS = ("jpg", "jpeg", "png", "webp", "gif", "mp4", "webm", "zip")
IMAGE_EXTS = (JPG, JPEG, PNG, WEBP, GIF)

# Valid but unusual encodings: the pipeline must embed these, not reject them.
PLAIN, CMYK_JPEG, GRAY16_PNG, PALETTE_PNG, RGBA_PNG, ANIMATED_GIF, ANIMATED_WEBP = range(7)
UNUSUAL = (
    "plain",
    "cmyk_jpeg",
    "gray16_png",
    "palette_png",
    "rgba_png",
    "animated_gif",
    "animated_webp",
)
UNUSUAL_EXT = {
    CMYK_JPEG: JPG,
    GRAY16_PNG: PNG,
    PALETTE_PNG: PNG,
    RGBA_PNG: PNG,
    ANIMATED_GIF: GIF,
    ANIMATED_WEBP: WEBP,
}

# Hostile stored bytes for a post's image (images mode only).
HARMLESS, CORRUPT, ZERO_BYTE, NOT_IMAGE, HUGE_DIMENSIONS, MISSING_IMAGE, TRUNCATED_MEMBER = range(7)
HOSTILE = (
    "harmless",
    "corrupt",
    "zero_byte",
    "not_image",
    "huge_dimensions",
    "missing_image",
    "truncated_shard",
)
# Hostile cases that are not a post's image: extra files and tar members, a cut shard.
ORPHAN = "orphan"
PATH_TRAVERSAL = "path_traversal"
ABSOLUTE_PATH = "absolute_path"

# Ratings, danbooru letters in order of explicitness.
RATINGS = ("g", "s", "q", "e")
