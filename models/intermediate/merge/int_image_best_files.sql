-- The best file of every image: the member post with the most pixels; at equal resolution the
-- source that comes first in `source_priority` (unlisted sources after listed ones), then the
-- smallest image_key. Members with unknown dimensions come last. The sizes are int_image_members',
-- decoded from the bytes where the image was read.
-- depends_on: {{ ref('int_image_digests') }}

with

members as (
    select
        image_id,
        image_number,
        image_key,
        source,
        width,
        height,
        pixels
    from {{ ref('int_image_members') }}
    where {{ memo_image_scope('image_number') }}
),

ranked_members as (
    select
        image_id,
        image_number,
        image_key,
        source,
        width,
        height,
        row_number() over (
            partition by image_id
            order by
                pixels desc nulls last,
                {{ source_priority_rank('source') }} asc nulls last,
                image_key asc
        ) as file_rank
    from members
)

select
    image_id,
    image_number,
    image_key as best_image_key,
    source as best_source,
    width as best_width,
    height as best_height
from ranked_members
where file_rank = 1
