with raw_works as (
    {{ raw_contract_select(source('pixiv', 'posts')) }}
),

tagged_works as (
    {#- Pixiv tags are (name, translated_name) pairs: an alias of the name wins, then the
        translated name, then the name itself. -#}
    {{ normalized_tag_lists(
        relation='raw_works',
        key='id',
        lists={'tags': 'list_transform(tags, lambda tag: tag.name)'},
        fallbacks={'tags': 'list_transform(tags, lambda tag: tag.translated_name)'},
    ) }}
),

work_pages as (
    {#- One row per image: a work with an unknown or zero page count still has its first page. -#}
    select
        tagged_works.*,
        case
            when tagged_works.x_restrict > 0 then 'x_restrict:' || tagged_works.x_restrict
            else 'sanity_level:' || tagged_works.sanity_level
        end as raw_rating,
        unnest(range(greatest(coalesce(tagged_works.page_count, 1), 1))) as page
    from tagged_works
),

pages as (
    select
        work_pages.id as post_id,
        concat(work_pages.id, '_p', work_pages.page) as post_key,
        null as md5,
        {{ map_rating('pixiv', 'work_pages.raw_rating') }} as rating,
        work_pages.create_date as created_at,
        -- The API gives the size of the first page only.
        case when work_pages.page = 0 then work_pages.width end as width,
        case when work_pages.page = 0 then work_pages.height end as height,
        work_pages.total_bookmarks as score,
        work_pages.tags,
        null as tags_by_category,
        null as source_url,
        case when lower(work_pages.type) = 'ugoira' then 'zip' end as file_ext,
        false as is_deleted,
        false as is_pending,
        false as is_banned,
        false as is_flagged,
        work_pages.raw_file,
        work_pages.file_row_number,
        work_pages.title,
        work_pages.caption,
        lower(work_pages.type) as work_type,
        work_pages.page,
        work_pages.page_count,
        work_pages.sanity_level,
        work_pages.x_restrict,
        work_pages.illust_ai_type,
        work_pages.total_view,
        work_pages.total_bookmarks,
        work_pages.total_comments,
        struct_extract(work_pages.user, 'id') as user_id,
        struct_extract(work_pages.user, 'name') as user_name,
        struct_extract(work_pages.user, 'account') as user_account,
        work_pages.total_bookmarks / nullif(work_pages.total_view, 0) as bookmark_rate
    from work_pages
)

select
    {{ shared_post_columns('pixiv') }},
    title,
    caption,
    work_type,
    page,
    page_count,
    sanity_level,
    x_restrict,
    illust_ai_type,
    total_view,
    total_bookmarks,
    total_comments,
    user_id,
    user_name,
    user_account,
    bookmark_rate
from pages
