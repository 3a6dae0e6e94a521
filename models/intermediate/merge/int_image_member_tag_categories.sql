-- The tags of each representative post that the tag dictionary files under a category other
-- than general (artist, character, copyright, meta), as a list of struct(tag, category) sorted
-- by tag: one row per representative that has any. Every other tag of the post is general.
-- Only these few tags are looked up and aggregated, so the many general tags never are.
-- depends_on: {{ ref('int_image_digests') }}

with

representatives as (
    select
        image_number,
        source,
        tags
    from {{ ref('int_image_representatives') }}
    where {{ memo_image_scope('image_number') }}
),

member_tags as (
    select
        image_number,
        source,
        unnest(tags) as tag
    from representatives
),

special_tags as (
    select
        tag,
        category
    from {{ ref('int_tag_dictionary') }}
    where category != 'general'
)

select
    member_tags.image_number,
    member_tags.source,
    list_sort(
        list(struct_pack(tag := member_tags.tag, category := special_tags.category))
    ) as categorized_tags
from member_tags
inner join special_tags on member_tags.tag = special_tags.tag
group by member_tags.image_number, member_tags.source
