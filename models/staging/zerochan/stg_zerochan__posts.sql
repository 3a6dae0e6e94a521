with raw_posts as (
    {{ raw_contract_select(source('zerochan', 'posts')) }}
),

tagged_posts as (
    {{ normalized_tag_lists(
        relation='raw_posts',
        key='id',
        lists={'tags': 'tags', 'primary_tag': '["primary"]'},
    ) }}
),

posts as (
    select
        tagged_posts.id as post_id,
        cast(tagged_posts.id as varchar) as post_key,
        {{ clean_md5('tagged_posts.hash') }} as md5,
        null as rating,
        null as created_at,
        tagged_posts.width,
        tagged_posts.height,
        null as score,
        tagged_posts.tags,
        null as tags_by_category,
        {{ blank_to_null('tagged_posts.source') }} as source_url,
        null as file_ext,
        false as is_deleted,
        false as is_pending,
        false as is_banned,
        false as is_flagged,
        tagged_posts.raw_file,
        tagged_posts.file_row_number,
        tagged_posts.size as file_size,
        tagged_posts.primary_tag[1] as primary_tag
    from tagged_posts
)

select
    {{ shared_post_columns('zerochan') }},
    file_size,
    primary_tag
from posts
