-- The tags of each image's representative posts, one row per (image, source, tag), with the
-- tag's category from the tag dictionary ('general' for a tag the dictionary does not know,
-- the category boorus give a tag by default).
with

representatives as (
    select
        image_id,
        image_key,
        source
    from {{ ref('int_image_members') }}
    where is_representative
),

kept_posts as (
    select
        image_key,
        tags
    from {{ ref('int_posts_kept') }}
),

member_tags as (
    select
        representatives.image_id,
        representatives.source,
        unnest(list_distinct(kept_posts.tags)) as tag
    from representatives
    inner join kept_posts on representatives.image_key = kept_posts.image_key
),

tag_dictionary as (
    select
        tag,
        category
    from {{ ref('int_tag_dictionary') }}
)

select
    member_tags.image_id,
    member_tags.source,
    member_tags.tag,
    coalesce(tag_dictionary.category, 'general') as category
from member_tags
left join tag_dictionary on member_tags.tag = tag_dictionary.tag
where member_tags.tag is not null
