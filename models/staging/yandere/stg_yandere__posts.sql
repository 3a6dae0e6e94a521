with raw_posts as (
    {{ raw_contract_select(source('yandere', 'posts')) }}
),

tagged_posts as (
    {{ normalized_tag_lists(
        relation='raw_posts',
        key='id',
        lists={'tags': split_tag_string('tags')},
    ) }}
),

posts as (
    select
        tagged_posts.id as post_id,
        cast(tagged_posts.id as varchar) as post_key,
        {{ clean_md5('tagged_posts.md5') }} as md5,
        {{ map_rating('yandere', 'tagged_posts.rating') }} as rating,
        to_timestamp(tagged_posts.created_at) as created_at,
        tagged_posts.width,
        tagged_posts.height,
        tagged_posts.score,
        tagged_posts.tags,
        null as tags_by_category,
        {{ blank_to_null('tagged_posts.source') }} as source_url,
        {{ file_extension('tagged_posts.file_ext') }} as file_ext,
        {{ booru_status_flags('tagged_posts.status') }},
        tagged_posts.raw_file,
        tagged_posts.file_row_number,
        tagged_posts.file_size,
        tagged_posts.author,
        nullif(tagged_posts.parent_id, 0) as parent_id,
        lower(tagged_posts.status) as status
    from tagged_posts
)

select
    {{ shared_post_columns('yandere') }},
    file_size,
    author,
    parent_id,
    status
from posts
