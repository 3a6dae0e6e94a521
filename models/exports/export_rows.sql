-- One row per training image, as published by export_dataset: the prompt, the kohya caption and
-- the prompt's sections, the merged fields, every metric (as `metric_<name>`), the member keys,
-- and where the best file's bytes are in the lake (NULL without a file: a metadata-only lake
-- exports every image).
with

prompts as (
    select
        image_id,
        prompt,
        kohya_caption,
        sections
    from {{ ref('prompts') }}
),

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
        tags,
        tag_confidences,
        best_image_key,
        best_width,
        best_height
    from {{ ref('images') }}
),

-- Every metric column, renamed metric_<name> (the metrics mart's columns follow the registry).
metric_values as (
    select
        image_id,
        columns(* exclude (image_id)) as 'metric_\0'  -- noqa: RF05
    from {{ ref('metrics') }}
),

-- The format sniffed from the bytes names the shard member, whatever the file's name says.
best_files as (
    select
        image_key,
        uri,
        "offset",
        length,
        file_format as ext
    from {{ ref('int_image_files') }}
)

select
    prompts.image_id,
    prompts.prompt,
    prompts.kohya_caption,
    prompts.sections,
    merged_images.rating,
    merged_images.artist,
    merged_images.characters,
    merged_images.copyrights,
    merged_images.created_at,
    merged_images.tags,
    merged_images.tag_confidences,
    merged_images.sources,
    merged_images.n_members,
    merged_images.member_keys,
    merged_images.best_image_key,
    merged_images.best_width,
    merged_images.best_height,
    metric_values.* exclude (image_id),  -- noqa: RF02
    best_files.uri as image_uri,
    best_files."offset" as image_offset,
    best_files.length as image_length,
    best_files.ext as image_ext
from prompts
inner join merged_images on prompts.image_id = merged_images.image_id
left join best_files on merged_images.best_image_key = best_files.image_key
left join metric_values on prompts.image_id = metric_values.image_id
