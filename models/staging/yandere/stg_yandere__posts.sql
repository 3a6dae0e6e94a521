with raw_posts as (
    {{ raw_contract_select(source('yandere', 'posts')) }}
),

post_tags as (
    {{ normalized_tag_lists(
        relation='raw_posts',
        key='id',
        lists={'tags': split_tag_string('tags')},
    ) }}
),

posts as (
    select
        raw_posts.id as post_id,
        cast(raw_posts.id as varchar) as post_key,
        {{ clean_md5('raw_posts.md5') }} as md5,
        {{ map_rating('yandere', 'raw_posts.rating') }} as rating,
        to_timestamp(raw_posts.created_at) as created_at,
        raw_posts.width,
        raw_posts.height,
        raw_posts.score,
        post_tags.tags,
        null as tags_by_category,
        {{ blank_to_null('raw_posts.source') }} as source_url,
        {{ file_extension('raw_posts.file_ext') }} as file_ext,
        {{ booru_status_flags('raw_posts.status') }},
        raw_posts.raw_file,
        raw_posts.file_row_number,
        raw_posts.file_size,
        raw_posts.author,
        nullif(raw_posts.parent_id, 0) as parent_id,
        lower(raw_posts.status) as status
    from raw_posts
    left join post_tags
        on raw_posts.id = post_tags.tag_owner
)

select
    {{ shared_post_columns('yandere') }},
    file_size,
    author,
    parent_id,
    status
from posts
