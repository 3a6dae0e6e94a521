-- One row per staged image key with the first prefilter rule it matches (NULL reason: kept).
-- Rules and their order come from `prefilter_rules()` (macros/posts/prefilter.sql), driven by
-- the `prefilter` var.
{%- set config = prefilter_config() %}

with

posts as (
    select
        image_key,
        source,
        post_key,
        post_id,
        file_ext,
        width,
        height,
        tags,
        is_deleted,
        is_pending,
        is_banned
    from {{ ref('int_posts_unioned') }}
),

source_fields as (
    select
        image_key,
        work_type,
        illust_ai_type,
        total_bookmarks,
        bookmark_rate
    from {{ ref('int_posts_source_fields') }}
),

post_fields as (
    select
        posts.image_key,
        posts.source,
        posts.post_key,
        posts.post_id,
        posts.file_ext,
        posts.width,
        posts.height,
        posts.tags,
        posts.is_deleted,
        posts.is_pending,
        posts.is_banned,
        source_fields.work_type,
        source_fields.illust_ai_type,
        source_fields.total_bookmarks,
        source_fields.{{ config['pixiv_bookmark_percentile_of'] }} as bookmark_metric
    from posts
    left join source_fields on posts.image_key = source_fields.image_key
),

-- Works, not pages, form the percentile population: a 50-page work counts once.
pixiv_works as (
    select
        post_id,
        any_value(bookmark_metric) as bookmark_metric
    from post_fields
    where source = 'pixiv'
    group by post_id
),

-- An aggregate without group by either way, so exactly one row and the cross join below keeps
-- every post.
bookmark_threshold as (
    select
        {%- if config['pixiv_min_bookmark_percentile'] is not none %}
            quantile_cont(
                bookmark_metric, {{ config['pixiv_min_bookmark_percentile'] }}
            )
        {%- else %}
            cast(max(null) as double)
        {%- endif %} as bookmark_metric_threshold
    from pixiv_works
),

post_attributes as (
    select
        post_fields.image_key,
        post_fields.source,
        post_fields.post_key,
        post_fields.file_ext,
        post_fields.width,
        post_fields.height,
        post_fields.tags,
        post_fields.is_deleted,
        post_fields.is_pending,
        post_fields.is_banned,
        post_fields.work_type,
        post_fields.illust_ai_type,
        post_fields.total_bookmarks,
        post_fields.bookmark_metric,
        bookmark_threshold.bookmark_metric_threshold
    from post_fields
    cross join bookmark_threshold
)

select
    image_key,
    source,
    post_key,
    {{ prefilter_case('reason') }} as reason,
    {{ prefilter_case('detail') }} as detail
from post_attributes
