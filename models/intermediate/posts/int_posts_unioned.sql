-- The shared columns of every enabled source's posts, one row per image key. A view: the union
-- costs nothing to scan, and a table would write every post's tag lists once more.
{{ config(materialized='view') }}

with

unioned_posts as (
    {{ union_staged_posts() }}
)

select
    {{ posts_shared_columns() | join(',\n    ') }}
from unioned_posts
