-- Posts the prefilter drops, in the shape every rejection-producing stage uses.
with

decisions as (
    select
        image_key,
        source,
        post_key,
        reason,
        detail
    from {{ ref('int_posts_prefilter_decisions') }}
)

select
    image_key,
    source,
    post_key,
    'prefilter' as stage,  -- noqa: RF04
    reason,
    detail
from decisions
where reason is not null
