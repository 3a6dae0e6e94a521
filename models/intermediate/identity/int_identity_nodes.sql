-- The images identity clusters: kept posts whose image is in the lake and was embedded, or every
-- kept post when `require_images` is off (metadata-only lakes).
with

candidate_posts as (
    {%- if var('require_images') %}
        select
            posts.image_key,
            posts.source
        from {{ ref('int_posts_with_images') }} as posts
        inner join {{ ref('int_image_embeddings') }} as embeddings
            on posts.image_key = embeddings.image_key
        where embeddings.error is null
    {%- else %}
        select
            image_key,
            source
        from {{ ref('int_posts_kept') }}
    {%- endif %}
)

select
    image_key,
    source
from candidate_posts
