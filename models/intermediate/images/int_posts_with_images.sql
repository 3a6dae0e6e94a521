-- Kept posts whose image the catalog found, with where the image bytes are. These are the
-- images sent to the embedder.
with

kept_posts as (
    select
        image_key,
        source
    from {{ ref('int_posts_kept') }}
),

catalog as (
    select
        image_key,
        uri,
        "offset",
        length,
        ext
    from {{ ref('int_image_catalog') }}
)

select
    kept_posts.image_key,
    kept_posts.source,
    catalog.uri,
    catalog."offset",
    catalog.length,
    catalog.ext
from kept_posts
inner join catalog on kept_posts.image_key = catalog.image_key
