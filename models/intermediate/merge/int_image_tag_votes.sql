-- Every tag any representative post of an image carries, with its confidence:
--   confidence = sum of `tags` trust of the sources whose post has the tag
--              / sum of `tags` trust of the sources whose post has any tags.
-- A post with no tags at all says nothing about tags and is left out of both sums. Weights are
-- decimals, so both sums are exact; the confidence is rounded to 6 decimals for reading, and
-- int_image_tags applies `min_tag_confidence` to the exact sums.
{{ config(materialized='view') }}

with

tags_trust as (
    select
        source,
        weight
    from {{ ref('source_trust') }}
    where field = 'tags'
),

tagged_members as (
    select
        image_id,
        source
    from {{ ref('int_image_member_fields') }}
    where has_tags
),

image_weights as (
    select
        tagged_members.image_id,
        sum(tags_trust.weight) as image_weight
    from tagged_members
    inner join tags_trust on tagged_members.source = tags_trust.source
    group by tagged_members.image_id
),

tag_weights as (
    select
        member_tags.image_id,
        member_tags.tag,
        min(member_tags.category) as category,
        sum(tags_trust.weight) as tag_weight
    from {{ ref('int_image_member_tags') }} as member_tags
    inner join tags_trust on member_tags.source = tags_trust.source
    group by member_tags.image_id, member_tags.tag
)

select
    tag_weights.image_id,
    tag_weights.tag,
    tag_weights.category,
    tag_weights.tag_weight,
    image_weights.image_weight,
    round(tag_weights.tag_weight::double / image_weights.image_weight::double, 6) as confidence
from tag_weights
inner join image_weights on tag_weights.image_id = image_weights.image_id
where image_weights.image_weight > 0
