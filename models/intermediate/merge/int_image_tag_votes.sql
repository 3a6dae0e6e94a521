-- The tag votes of images that several sources vote on (more than one representative with tags
-- and positive `tags` trust), one row per (image, tag) any of them carries:
--   confidence = sum of `tags` trust of the sources whose post has the tag
--              / sum of `tags` trust of the sources whose post has any tags.
-- An image with a single voting source keeps every tag of it at confidence 1 and is not voted
-- on here (see int_image_tags). Weights are decimals, so both sums are exact; the confidence is
-- rounded to 6 decimals for reading, and int_image_tags applies `min_tag_confidence` to the
-- exact sums.
{{ config(materialized='view') }}

{{ image_tag_votes() }}
