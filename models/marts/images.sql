-- One row per image: int_merged_images' fields, its kept tags (int_image_tags, joined on
-- image_number; none when it keeps no tag) with their confidences and as a plain list, then every
-- enabled source's staging fields as `<source>__<field>`, from that source's representative
-- post (NULLs where the image has no post on the source). A view, so the wide per-source fields
-- are read only by a query that selects them and no build holds them all at once. It names its
-- inputs without the database, so it still resolves when the file is attached under another
-- name.
{{ config(materialized='view') }}

with

merged_images as (
    select
        image_id,
        n_members,
        member_keys,
        sources,
        rating,
        artist,
        characters,
        copyrights,
        created_at,
        best_image_key,
        best_width,
        best_height,
        image_number,
        {{ source_representative_key_names() | join(',\n        ') }}
    from {{ ref('int_merged_images').include(database=False) }}
),

image_tags as (
    select
        image_number,
        tag_confidences
    from {{ ref('int_image_tags').include(database=False) }}
)

select
    merged_images.image_id,
    merged_images.n_members,
    merged_images.member_keys,
    merged_images.sources,
    merged_images.rating,
    merged_images.artist,
    merged_images.characters,
    merged_images.copyrights,
    merged_images.created_at,
    merged_images.best_image_key,
    merged_images.best_width,
    merged_images.best_height,
    list_transform(coalesce(image_tags.tag_confidences, []), kept -> kept.tag) as tags,
    coalesce(image_tags.tag_confidences, []) as tag_confidences
    -- The staging columns are only known once staging is built, so the layout of these
    -- generated lines is not checked.
    {{ source_field_select_list() }}  -- noqa: LT02
from merged_images
left join image_tags on merged_images.image_number = image_tags.image_number
{{- source_field_joins('merged_images') }}
