-- Images the embedder could not use (corrupt, empty, not an image, decompression bomb, …), and
-- images whose shorter decoded side is below the prefilter's `min_side` (`too_small`: the
-- metadata said they were large enough), stage `embed`. Listed in the `rejection_models` var.
with

failed_images as (
    select
        embeddings.image_key,
        embeddings.error,
        embeddings.width,
        embeddings.height,
        embeddings.model_tag
    from {{ ref('int_image_embeddings') }} as embeddings
    where embeddings.error is not null
)

select
    failed_images.image_key,
    split_part(failed_images.image_key, ':', 1) as source,
    'embed' as stage,
    failed_images.error as reason,
    case
        when failed_images.error = 'too_small'
            then
                'decoded ' || failed_images.width || 'x' || failed_images.height
                || ', shorter side below min_side {{ prefilter_config()['min_side'] }}'
        else 'model ' || failed_images.model_tag
    end as detail
from failed_images
