-- The shared columns of every enabled source's posts, one row per image key.
with

unioned_posts as (
    {{ union_staged_posts() }}
)

select
    {{ posts_shared_columns() | join(',\n    ') }}
from unioned_posts
