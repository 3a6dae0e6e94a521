-- Posts and images that do not pair up: a kept post whose image is not in the lake
-- (`missing_image`, only when `require_images` is on), and an image no staged post names
-- (`orphan_image`). Keys the catalog itself refused are already in its rejects.
with

kept_posts as (
    select
        image_key,
        source
    from {{ ref('int_posts_kept') }}
),

staged_keys as (
    select image_key
    from {{ ref('int_posts_unioned') }}
),

catalog as (
    select
        image_key,
        source,
        uri
    from {{ ref('int_image_catalog') }}
),

catalog_refused_keys as (
    select distinct image_key
    from {{ ref('int_image_catalog_rejects') }}
    where image_key is not null
),

posts_without_image as (
    select
        kept_posts.image_key,
        kept_posts.source,
        'catalog' as stage,
        'missing_image' as reason,
        'no image file or shard member for this post' as detail
    from kept_posts
    where
        {{ var('require_images') }}
        and kept_posts.image_key not in (select catalog.image_key from catalog)
        and kept_posts.image_key not in (
            select refused.image_key from catalog_refused_keys as refused
        )
),

images_without_post as (
    select
        catalog.image_key,
        catalog.source,
        'catalog' as stage,
        'orphan_image' as reason,
        catalog.uri as detail
    from catalog
    where catalog.image_key not in (select staged_keys.image_key from staged_keys)
)

select
    image_key,
    source,
    stage,
    reason,
    detail
from posts_without_image
union all
select
    image_key,
    source,
    stage,
    reason,
    detail
from images_without_post
