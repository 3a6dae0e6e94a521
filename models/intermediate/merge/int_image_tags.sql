-- The tags each image keeps: those whose confidence is at least `min_tag_confidence`, most
-- certain first (ties by tag). The comparison is done on the exact decimal weights
-- (tag_weight >= min_tag_confidence * image_weight), so a tag exactly at the threshold is kept.
-- An image with no kept tag has no row.
with

kept_votes as (
    select
        image_id,
        tag,
        category,
        confidence
    from {{ ref('int_image_tag_votes') }}
    where
        tag_weight
        >= cast({{ var('min_tag_confidence') }} as decimal(18, 6)) * image_weight
)

select
    image_id,
    list(tag order by confidence desc, tag asc) as tags,
    list(
        struct_pack(tag := tag, confidence := confidence, category := category)
        order by confidence desc, tag asc
    ) as tag_confidences
from kept_votes
group by image_id
