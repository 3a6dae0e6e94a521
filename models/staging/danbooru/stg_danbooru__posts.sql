with raw_posts as (
    {{ raw_contract_select(source('danbooru', 'posts')) }}
),

tagged_posts as (
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
        tagged_posts.id as post_id,
        cast(tagged_posts.id as varchar) as post_key,
        {{ clean_md5('tagged_posts.md5') }} as md5,
        {{ map_rating('danbooru', 'tagged_posts.rating') }} as rating,
        tagged_posts.created_at,
        tagged_posts.image_width as width,
        tagged_posts.image_height as height,
        tagged_posts.score,
        tagged_posts.tags,
        {
            'artist': tagged_posts.artist,
            'character': tagged_posts.character,
            'copyright': tagged_posts.copyright,
            'general': tagged_posts.general,
            'meta': tagged_posts.meta
        } as tags_by_category,
        {{ blank_to_null('tagged_posts.source') }} as source_url,
        {{ file_extension('tagged_posts.file_ext') }} as file_ext,
        tagged_posts.is_deleted,
        tagged_posts.is_pending,
        tagged_posts.is_banned,
        tagged_posts.is_flagged,
        tagged_posts.raw_file,
        tagged_posts.file_row_number,
        tagged_posts.up_score,
        tagged_posts.down_score,
        tagged_posts.fav_count,
        tagged_posts.file_size,
        tagged_posts.pixiv_id,
        tagged_posts.parent_id,
        tagged_posts.has_children,
        tagged_posts.updated_at
    from tagged_posts
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
