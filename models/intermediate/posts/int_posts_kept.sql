-- The posts that pass the prefilter: the shared columns of int_posts_unioned. A view, like the
-- union it filters: its readers take a few columns each, and a table would copy every post's
-- tag lists.
{{ config(materialized='view') }}

with

kept_keys as (
    select image_key
    from {{ ref('int_posts_prefilter_decisions') }}
    where reason is null
),

posts as (
    select
        {{ posts_shared_columns() | join(',\n        ') }}
    from {{ ref('int_posts_unioned') }}
)

select
    {{ posts_shared_columns() | join(',\n    ') }}
from posts
where image_key in (select kept_keys.image_key from kept_keys)
