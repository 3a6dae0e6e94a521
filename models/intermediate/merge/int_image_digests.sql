-- One hash per image of everything the per-image merge models read about it: its members
-- (int_image_members), each member's unioned post row (int_posts_unioned) and, on the sources
-- whose uploader is the artist, the uploader account. A merge model built before keeps a copy
-- of these digests (see `memo_images` in memoized_table.sql) and, while nothing else it reads
-- has changed, rebuilds only the images whose digest differs from its copy, or that came or
-- went.
with

members as (
    select
        image_number,
        image_key,
        struct_pack(
            image_id, image_key, source, post_key, post_id, width, height, pixels, source_rank,
            is_representative
        ) as member
    from {{ ref('int_image_members') }}
),

unioned_posts as (
    select
        {{ posts_shared_columns() | join(',\n        ') }}
    from {{ ref('int_posts_unioned') }}
),

post_rows as (
    select
        image_key,
        hash(unioned_posts) as post_hash
    from unioned_posts
),

account_posts as (
    {{ artist_account_posts() }}
)

select
    members.image_number,
    bit_xor(hash(members.member, post_rows.post_hash, account_posts.account)) as image_digest
from members
left join post_rows on members.image_key = post_rows.image_key
left join account_posts on members.image_key = account_posts.image_key
group by members.image_number
