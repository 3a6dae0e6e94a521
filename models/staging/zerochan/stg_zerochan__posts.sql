with raw_posts as (
    {{ raw_contract_select(source('zerochan', 'posts')) }}
),

post_tags as (
    {{ normalized_tag_lists(
        relation='raw_posts',
        key='id',
        lists={'tags': 'tags', 'primary_tag': '["primary"]'},
    ) }}
),

posts as (
    select
        raw_posts.id as post_id,
        cast(raw_posts.id as varchar) as post_key,
        {{ clean_md5('raw_posts.hash') }} as md5,
        null as rating,
        null as created_at,
        raw_posts.width,
        raw_posts.height,
        null as score,
        post_tags.tags,
        null as tags_by_category,
        {{ blank_to_null('raw_posts.source') }} as source_url,
        null as file_ext,
        false as is_deleted,
        false as is_pending,
        false as is_banned,
        false as is_flagged,
        raw_posts.raw_file,
        raw_posts.file_row_number,
        raw_posts.size as file_size,
        post_tags.primary_tag[1] as primary_tag
    from raw_posts
    left join post_tags
        on raw_posts.id = post_tags.tag_owner
)

select
    {{ shared_post_columns('zerochan') }},
    file_size,
    primary_tag
from posts
