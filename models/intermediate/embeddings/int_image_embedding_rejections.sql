-- Images the embedder could not use (corrupt, empty, not an image, decompression bomb, …),
-- stage `embed`. Listed in the `rejection_models` var.
with

failed_images as (
    select
        embeddings.image_key,
        embeddings.error,
        embeddings.model_tag
    from {{ ref('int_image_embeddings') }} as embeddings
    where embeddings.error is not null
)

select
    failed_images.image_key,
    split_part(failed_images.image_key, ':', 1) as source,
    'embed' as stage,
    failed_images.error as reason,
    'model ' || failed_images.model_tag as detail
from failed_images
