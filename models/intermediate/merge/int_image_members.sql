-- Every kept post with the image it shows, ranked within its source in that image. Its width and
-- height are the decoded image's (int_image_files) where the image was read, else the site's
-- (a metadata-only lake); the site's own values stay in the `<source>__` columns of `images`.
-- The first of
-- each source is the image's representative for that source: highest resolution, then the oldest
-- post (smallest post_id, then post_key); it speaks for its source in every weighted choice and
-- fills the `<source>__` columns of the images mart. image_number is image_id's 16 hex digits
-- read as an integer: the large tag tables group and join on it rather than on a string, and,
-- being as stable as image_id, it keys the per-image incremental rebuilds of the merge.
with

identities as (
    select
        image_key,
        image_id
    from {{ ref('int_image_identity') }}
),

kept_posts as (
    -- Every identity node is a kept post (int_identity_nodes), so the unioned posts give the
    -- same members without int_posts_kept's semi-join on the kept keys.
    select
        image_key,
        source,
        post_key,
        post_id,
        width,
        height
    from {{ ref('int_posts_unioned') }}
),

decoded_files as (
    select
        image_key,
        width,
        height
    from {{ ref('int_image_files') }}
    where width is not null and height is not null
),

sized_posts as (
    select
        kept_posts.image_key,
        kept_posts.source,
        kept_posts.post_key,
        kept_posts.post_id,
        coalesce(decoded_files.width, kept_posts.width) as width,
        coalesce(decoded_files.height, kept_posts.height) as height
    from kept_posts
    left join decoded_files on kept_posts.image_key = decoded_files.image_key
),

members as (
    select
        identities.image_id,
        sized_posts.image_key,
        sized_posts.source,
        sized_posts.post_key,
        sized_posts.post_id,
        sized_posts.width,
        sized_posts.height,
        sized_posts.width::bigint * sized_posts.height::bigint as pixels
    from sized_posts
    inner join identities on sized_posts.image_key = identities.image_key
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
        ('0x' || substr(image_id, length('img_') + 1))::ubigint as image_number,
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
