with raw_posts as (
    {{ raw_contract_select(source('danbooru', 'posts')) }}
),

post_tags as (
    {{ normalized_tag_lists(
        relation='raw_posts',
        key='id',
        lists={
            'tags': split_tag_string('tag_string'),
            'artist': split_tag_string('tag_string_artist'),
            'character': split_tag_string('tag_string_character'),
            'copyright': split_tag_string('tag_string_copyright'),
            'general': split_tag_string('tag_string_general'),
            'meta': split_tag_string('tag_string_meta'),
        },
    ) }}
),

posts as (
    select
        raw_posts.id as post_id,
        cast(raw_posts.id as varchar) as post_key,
        {{ clean_md5('raw_posts.md5') }} as md5,
        {{ map_rating('danbooru', 'raw_posts.rating') }} as rating,
        raw_posts.created_at,
        raw_posts.image_width as width,
        raw_posts.image_height as height,
        raw_posts.score,
        post_tags.tags,
        {
            'artist': post_tags.artist,
            'character': post_tags.character,
            'copyright': post_tags.copyright,
            'general': post_tags.general,
            'meta': post_tags.meta
        } as tags_by_category,
        {{ blank_to_null('raw_posts.source') }} as source_url,
        {{ file_extension('raw_posts.file_ext') }} as file_ext,
        raw_posts.is_deleted,
        raw_posts.is_pending,
        raw_posts.is_banned,
        raw_posts.is_flagged,
        raw_posts.raw_file,
        raw_posts.file_row_number,
        raw_posts.up_score,
        raw_posts.down_score,
        raw_posts.fav_count,
        raw_posts.file_size,
        raw_posts.pixiv_id,
        raw_posts.parent_id,
        raw_posts.has_children,
        raw_posts.updated_at
    from raw_posts
    left join post_tags
        on raw_posts.id = post_tags.tag_owner
)

select
    {{ shared_post_columns('danbooru') }},
    up_score,
    down_score,
    fav_count,
    file_size,
    pixiv_id,
    parent_id,
    has_children,
    updated_at
from posts
