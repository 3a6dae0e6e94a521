-- The tag votes of images that several sources vote on (more than one representative with tags
-- and positive `tags` trust), one row per (image, tag) any of them carries:
--   confidence = sum of `tags` trust of the sources whose post has the tag
--              / sum of `tags` trust of the sources whose post has any tags.
-- An image with a single voting source keeps every tag of it at confidence 1 and is not voted
-- on here (see int_image_tags). Weights are decimals, so both sums are exact; the confidence is
-- rounded to 6 decimals for reading, and int_image_tags applies `min_tag_confidence` to the
-- exact sums.
{{ config(materialized='view') }}

with

voters as (
    select
        image_number,
        tags,
        tags_weight
    from {{ ref('int_image_representatives') }}
    where n_tag_voters > 1 and len(tags) > 0 and tags_weight > 0
),

image_weights as (
    select
        image_number,
        sum(tags_weight) as image_weight
    from voters
    group by image_number
),

voter_tags as (
    select
        image_number,
        tags_weight,
        unnest(tags) as tag
    from voters
),

tag_weights as (
    select
        image_number,
        tag,
        sum(tags_weight) as tag_weight
    from voter_tags
    group by image_number, tag
),

tag_dictionary as (
    select
        tag,
        category
    from {{ ref('int_tag_dictionary') }}
)

select
    tag_weights.image_number,
    tag_weights.tag,
    coalesce(tag_dictionary.category, 'general') as category,
    tag_weights.tag_weight,
    image_weights.image_weight,
    round(tag_weights.tag_weight::double / image_weights.image_weight::double, 6) as confidence
from tag_weights
inner join image_weights on tag_weights.image_number = image_weights.image_number
left join tag_dictionary on tag_weights.tag = tag_dictionary.tag
