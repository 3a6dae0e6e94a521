-- The images identity clusters: kept posts whose image is in the lake and was embedded, or every
-- kept post when `require_images` is off (metadata-only lakes).
with

{% if var('require_images') %}
candidate_posts as (
    select
        posts.image_key,
        posts.source
    from {{ ref('int_posts_with_images') }} as posts
    inner join {{ ref('int_image_embeddings') }} as embeddings
        on posts.image_key = embeddings.image_key
    where embeddings.error is null
)
{% else %}
candidate_posts as (
    select
        image_key,
        source
    from {{ ref('int_posts_kept') }}
)
{% endif %}

select
    image_key,
    source
from candidate_posts
