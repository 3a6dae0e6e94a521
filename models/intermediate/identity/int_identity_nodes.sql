-- The images identity clusters: every post that passed the prefilter.
with

kept_posts as (
    select
        image_key,
        source
    from {{ ref('int_posts_kept') }}
)

select
    image_key,
    source
from kept_posts
