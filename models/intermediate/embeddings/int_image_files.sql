-- Every image sent to the embedder with the facts read from its bytes: where they are in the
-- lake, their size in bytes, the decoded width and height (NULL when no header could be read),
-- and the format sniffed from the bytes, so PNG bytes named `.jpg` are `png`. Where the
-- embedder reported no format, the file extension stands in, `jpeg` written `jpg`.
with

images as (
    select
        image_key,
        uri,
        "offset",
        length,
        ext
    from {{ ref('int_posts_with_images') }}
),

decoded as (
    select
        image_key,
        width,
        height,
        format
    from {{ ref('int_image_embeddings') }}
)

select
    images.image_key,
    images.uri,
    images."offset",
    images.length,
    images.length as bytes,
    decoded.width,
    decoded.height,
    coalesce(
        decoded.format,
        case images.ext when 'jpeg' then 'jpg' else images.ext end
    ) as file_format
from images
left join decoded on images.image_key = decoded.image_key
