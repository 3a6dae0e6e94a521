-- The images a training set may use: every image (int_image_members) that no registry
-- threshold rejects (int_training_filter_rejections). One row per image_id.
with

images as (
    select distinct image_id
    from {{ ref('int_image_members') }}
),

rejected_images as (
    select distinct image_id
    from {{ ref('int_training_filter_rejections') }}
)

select images.image_id
from images
where images.image_id not in (select rejected_images.image_id from rejected_images)
