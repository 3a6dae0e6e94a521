-- Tag aliases learned from the images themselves: which danbooru tag a foreign tag (a tag of a
-- `learned_alias_sources` post that danbooru's vocabulary and the tag_aliases seed do not know,
-- e.g. a Japanese pixiv name or a Zerochan name) stands for. Evidence is the images whose
-- members include a categorized (danbooru) post and a post of that source: on each, every
-- foreign tag of the source's posts co-occurs with every tag of the danbooru posts.
--   support    = images where the foreign tag and the danbooru tag co-occur
--   confidence = support / images where the foreign tag occurs
-- Each foreign tag takes the danbooru tag that best matches it both ways, by the Jaccard index
-- support / (images with the foreign tag + images with the danbooru tag - support), over the
-- source's merged images: a character's name matches the character better than its copyright
-- or `1girl`, which are on more images. Ties go to the more specific category (artist,
-- character, copyright, meta, general), then the tag on fewer danbooru posts, then the smaller
-- tag. It is proposed when support >= `learned_alias_min_support`
-- and confidence >= `learned_alias_min_confidence`. Learned from the kept posts' staged tags
-- (seed aliases already applied) and this build's identity; int_image_representatives applies
-- them after the seed.
{%- set min_support = var('learned_alias_min_support') %}
{%- set min_confidence = "cast(" ~ var('learned_alias_min_confidence') ~ " as decimal(18, 6))" %}
{%- set sources = var('learned_alias_sources') %}

with

members as (
    -- Every member is a kept post (int_image_members), so the unioned posts give the same rows
    -- without int_posts_kept's semi-join on the kept keys.
    select
        image_members.image_id,
        image_members.source,
        kept_posts.tags,
        kept_posts.tags_by_category is not null as is_categorized
    from {{ ref('int_image_members') }} as image_members
    inner join {{ ref('int_posts_unioned') }} as kept_posts
        on image_members.image_key = kept_posts.image_key
    where
        kept_posts.tags_by_category is not null
        or list_contains({{ sql_string_list(sources) }}::varchar[], image_members.source)
),

linked_images as (
    -- Images with a categorized post and a post of a learning source.
    select distinct
        categorized.image_id,
        foreign_members.source
    from members as categorized
    inner join members as foreign_members
        on
            categorized.image_id = foreign_members.image_id
            and not foreign_members.is_categorized
    where categorized.is_categorized
),

danbooru_tags as (
    select distinct
        image_id,
        unnest(tags) as tag
    from members
    where is_categorized and image_id in (select linked_images.image_id from linked_images)
),

tag_dictionary as (
    select
        tag,
        category,
        post_count
    from {{ ref('int_tag_dictionary') }}
),

known_tags as (
    -- Tags that need no alias: danbooru's vocabulary, and the seed's aliases and targets.
    select tag from tag_dictionary
    union
    select {{ clean_tag('alias') }} as tag from {{ ref('tag_aliases') }}
    union
    select {{ clean_tag('tag') }} as tag from {{ ref('tag_aliases') }}
),

source_tags as (
    select distinct
        members.image_id,
        members.source,
        unnest(members.tags) as alias  -- noqa: RF04
    from members
    inner join linked_images
        on
            members.image_id = linked_images.image_id
            and members.source = linked_images.source
),

foreign_tags as (
    select
        source_tags.image_id,
        source_tags.source,
        source_tags.alias
    from source_tags
    left join known_tags on source_tags.alias = known_tags.tag
    where source_tags.alias is not null and known_tags.tag is null
),

alias_images as (
    select
        source,
        alias,
        count(*) as alias_images
    from foreign_tags
    group by source, alias
),

tag_images as (
    select
        linked_images.source,
        danbooru_tags.tag,
        count(*) as tag_images
    from linked_images
    inner join danbooru_tags on linked_images.image_id = danbooru_tags.image_id
    group by linked_images.source, danbooru_tags.tag
),

co_occurrences as (
    select
        foreign_tags.source,
        foreign_tags.alias,
        danbooru_tags.tag,
        count(*) as support  -- noqa: RF04
    from foreign_tags
    inner join danbooru_tags on foreign_tags.image_id = danbooru_tags.image_id
    group by foreign_tags.source, foreign_tags.alias, danbooru_tags.tag
),

ranked_tags as (
    select
        co_occurrences.source,
        co_occurrences.alias,
        co_occurrences.tag,
        co_occurrences.support,
        alias_images.alias_images,
        tag_images.tag_images,
        row_number() over (
            partition by co_occurrences.source, co_occurrences.alias
            order by
                co_occurrences.support
                / (alias_images.alias_images + tag_images.tag_images - co_occurrences.support)
                desc,
                list_position(
                    {{ sql_string_list(merge_tag_categories()) }}, tag_dictionary.category
                ) asc nulls last,
                tag_dictionary.post_count asc nulls last,
                co_occurrences.tag asc
        ) as tag_rank
    from co_occurrences
    inner join alias_images
        on
            co_occurrences.source = alias_images.source
            and co_occurrences.alias = alias_images.alias
    inner join tag_images
        on
            co_occurrences.source = tag_images.source
            and co_occurrences.tag = tag_images.tag
    left join tag_dictionary on co_occurrences.tag = tag_dictionary.tag
)

select
    source,
    alias,
    tag,
    support,
    alias_images,
    tag_images,
    round(support / alias_images, 6) as confidence
from ranked_tags
where
    tag_rank = 1
    and support >= {{ min_support }}
    and support >= {{ min_confidence }} * alias_images
