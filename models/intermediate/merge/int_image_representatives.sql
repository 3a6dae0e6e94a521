-- The representative post of each source in each image (int_image_members.is_representative)
-- with the post fields the merge weighs, its source's `tags` trust, and how many
-- representatives of the image vote on tags (a post with tags from a source with positive tag
-- trust). Read once here so the merge models do not each join the kept posts again. Tags are
-- as staging gives them (seed aliases applied), then through the learned aliases of the post's
-- source (int_tag_aliases_learned): distinct and sorted. Of the post's tags by category only the
-- categories a merged field reads are kept: general and meta hold most tags, and writing them
-- again cost a third of this model's time.
-- depends_on: {{ ref('int_image_digests') }}

with

representatives as (
    select
        image_id,
        image_number,
        image_key,
        source
    from {{ ref('int_image_members') }}
    where is_representative and {{ memo_image_scope('image_number') }}
),

learned_aliases as (
    select
        source,
        alias,
        tag
    from {{ ref('int_tag_aliases_learned') }}
),

kept_posts as (
    -- Every representative is a kept post (int_image_members), so the unioned posts give the
    -- same rows without int_posts_kept's semi-join on the kept keys.
    select
        image_key,
        rating,
        created_at,
        tags,
        tags_by_category
    from {{ ref('int_posts_unioned') }}
),

tags_trust as (
    select
        source,
        weight
    from {{ ref('source_trust') }}
    where field = 'tags'
),

representative_posts as (
    select
        representatives.image_id,
        representatives.image_number,
        representatives.image_key,
        representatives.source,
        kept_posts.rating,
        kept_posts.created_at,
        coalesce(kept_posts.tags, []) as staged_tags,
        case
            when kept_posts.tags_by_category is not null
                then {
                        'artist': kept_posts.tags_by_category['artist'],
                        'character': kept_posts.tags_by_category['character'],
                        'copyright': kept_posts.tags_by_category['copyright']
                    }
        end as field_tags_by_category,
        coalesce(tags_trust.weight, 0) as tags_weight
    from representatives
    inner join kept_posts on representatives.image_key = kept_posts.image_key
    left join tags_trust on representatives.source = tags_trust.source
),

staged_tags_of_learning_sources as (
    select
        image_key,
        source,
        unnest(staged_tags) as tag
    from representative_posts
    where source in (select learned_aliases.source from learned_aliases)
),

learned_alias_hits as (
    -- Per post, the tags that have a learned alias and what they stand for: a hash join,
    -- whatever the number of aliases (a map lookup in a lambda scans the whole map), and only the
    -- few posts with a hit are relabelled.
    select
        staged_tags.image_key,
        list(learned_aliases.alias) as aliases,
        list(learned_aliases.tag) as alias_tags
    from staged_tags_of_learning_sources as staged_tags
    inner join learned_aliases
        on
            staged_tags.source = learned_aliases.source
            and staged_tags.tag = learned_aliases.alias
    group by staged_tags.image_key
),

representative_tags as (
    select
        representative_posts.image_id,
        representative_posts.image_number,
        representative_posts.image_key,
        representative_posts.source,
        representative_posts.rating,
        representative_posts.created_at,
        case
            when learned_alias_hits.image_key is null then representative_posts.staged_tags
            else list_sort(list_distinct(list_concat(
                    list_filter(
                        representative_posts.staged_tags,
                        tag -> not list_contains(learned_alias_hits.aliases, tag)
                    ),
                    learned_alias_hits.alias_tags
                )))
        end as tags,
        representative_posts.field_tags_by_category,
        representative_posts.tags_weight
    from representative_posts
    left join learned_alias_hits on representative_posts.image_key = learned_alias_hits.image_key
),

tag_voters as (
    select
        image_number,
        count(*) as n_tag_voters
    from representative_tags
    where len(tags) > 0 and tags_weight > 0
    group by image_number
)

select
    representative_tags.image_id,
    representative_tags.image_number,
    representative_tags.image_key,
    representative_tags.source,
    representative_tags.rating,
    representative_tags.created_at,
    representative_tags.tags,
    representative_tags.field_tags_by_category,
    representative_tags.tags_weight,
    coalesce(tag_voters.n_tag_voters, 0) as n_tag_voters
from representative_tags
left join tag_voters on representative_tags.image_number = tag_voters.image_number
