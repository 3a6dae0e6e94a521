-- Tag -> category, learned from the sources that file their tags under categories (danbooru's
-- tags_by_category). A tag filed under several categories takes the one it is filed under most
-- often; equal counts go to the more specific category (merge_tag_categories order).
with

filed_tags as (
    {{ unnest_tags_by_category(ref('int_posts_unioned')) }}
),

category_counts as (
    select
        tag,
        category,
        count(*) as post_count
    from filed_tags
    where tag is not null
    group by tag, category
),

ranked_categories as (
    select
        tag,
        category,
        post_count,
        row_number() over (
            partition by tag
            order by
                post_count desc,
                list_position({{ sql_string_list(merge_tag_categories()) }}, category) asc
        ) as category_rank
    from category_counts
)

select
    tag,
    category,
    post_count
from ranked_categories
where category_rank = 1
