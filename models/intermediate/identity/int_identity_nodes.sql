-- The images identity clusters: kept posts whose image is in the lake, or every kept post when
-- `require_images` is off (metadata-only lakes).
{%- set candidates = ref('int_posts_with_images') if var('require_images') else ref('int_posts_kept') %}

with

candidate_posts as (
    select
        image_key,
        source
    from {{ candidates }}
)

select
    image_key,
    source
from candidate_posts
