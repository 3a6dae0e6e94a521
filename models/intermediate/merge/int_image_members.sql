-- Every kept post with the image it shows, ranked within its source in that image. The first of
-- each source is the image's representative for that source: highest resolution, then the oldest
-- post (smallest post_id, then post_key); it speaks for its source in every weighted choice and
-- fills the `<source>__` columns of the images mart. image_number is a compact integer key for
-- the image within this build (dense rank of image_id), so the large tag tables group and join
-- on an integer rather than a string; it is not stable across builds (image_id is).
with

identities as (
    select
        image_key,
        image_id
    from {{ ref('int_image_identity') }}
),

kept_posts as (
    select
        image_key,
        source,
        post_key,
        post_id,
        width,
        height
    from {{ ref('int_posts_kept') }}
),

members as (
    select
        identities.image_id,
        kept_posts.image_key,
        kept_posts.source,
        kept_posts.post_key,
        kept_posts.post_id,
        kept_posts.width,
        kept_posts.height,
        kept_posts.width::bigint * kept_posts.height::bigint as pixels
    from kept_posts
    inner join identities on kept_posts.image_key = identities.image_key
),

ranked_members as (
    select
        image_id,
        image_key,
        source,
        post_key,
        post_id,
        width,
        height,
        pixels,
        dense_rank() over (order by image_id) as image_number,
        row_number() over (
            partition by image_id, source
            order by pixels desc nulls last, post_id asc nulls last, post_key asc
        ) as source_rank
    from members
)

select
    image_id,
    image_number,
    image_key,
    source,
    post_key,
    post_id,
    width,
    height,
    pixels,
    source_rank,
    source_rank = 1 as is_representative
from ranked_members
