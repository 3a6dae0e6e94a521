-- Nothing vanishes: every staged image key is a member of an image in the `images` mart or has
-- a row in `rejections`. Returns the keys that are neither.
with

staged_keys as (
    select
        image_key,
        source
    from {{ ref('int_posts_unioned') }}
),

member_keys as (
    select unnest(member_keys) as image_key
    from {{ ref('images') }}
),

rejected_keys as (
    select image_key
    from {{ ref('rejections') }}
)

select
    staged_keys.image_key,
    staged_keys.source
from staged_keys
where
    not exists (
        select 1 from member_keys
        where member_keys.image_key = staged_keys.image_key
    )
    and not exists (
        select 1 from rejected_keys
        where rejected_keys.image_key = staged_keys.image_key
    )
