-- Source-specific fields that the prefilter and the link finder read, one row per image key of
-- a source that has any of them (NULL where the source lacks the field). A source that is not
-- enabled adds nothing, so the models downstream never depend on which sources are enabled.
{%- set enabled_sources = var('enabled_sources') %}

with

source_field_rows as (
    select
        cast(null as varchar) as image_key,
        cast(null as bigint) as pixiv_id,
        cast(null as varchar) as work_type,
        cast(null as integer) as illust_ai_type,
        cast(null as integer) as total_bookmarks,
        cast(null as double) as bookmark_rate
    where false
    {%- if 'danbooru' in enabled_sources %}

        union all

        select
            image_key,
            pixiv_id,
            null as work_type,
            null as illust_ai_type,
            null as total_bookmarks,
            null as bookmark_rate
        from {{ ref('stg_danbooru__posts') }}
    {%- endif %}
    {%- if 'pixiv' in enabled_sources %}

        union all

        select
            image_key,
            null as pixiv_id,
            work_type,
            illust_ai_type,
            total_bookmarks,
            bookmark_rate
        from {{ ref('stg_pixiv__posts') }}
    {%- endif %}
)

select
    image_key,
    pixiv_id,
    work_type,
    illust_ai_type,
    total_bookmarks,
    bookmark_rate
from source_field_rows
