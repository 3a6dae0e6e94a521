-- The tags each image keeps, most certain first (ties by tag), with their confidence and
-- category. An image with a single voting source keeps all of that source's tags at confidence
-- 1 (their categories from int_image_member_tag_categories, else general). An image several
-- sources vote on keeps the votes (int_image_tag_votes) whose confidence is at least
-- `min_tag_confidence`, compared exactly on the decimal weights (tag_weight >=
-- min_tag_confidence * image_weight), so a tag exactly at the threshold is kept. An image
-- that keeps no tag has no row.
-- depends_on: {{ ref('int_image_digests') }}
{%- set min_confidence = "cast(" ~ var('min_tag_confidence') ~ " as decimal(18, 6))" %}

with

single_voters as (
    select
        image_number,
        source,
        tags
    from {{ ref('int_image_representatives') }}
    where
        n_tag_voters = 1 and len(tags) > 0 and tags_weight > 0
        and {{ min_confidence }} <= 1
        and {{ memo_image_scope('image_number') }}
),

single_voter_categories as (
    select
        single_voters.image_number,
        single_voters.tags,
        list_transform(member_tags.categorized_tags, named -> named.tag) as named_tags,
        list_transform(member_tags.categorized_tags, named -> named.category) as named_categories
    from single_voters
    left join {{ ref('int_image_member_tag_categories') }} as member_tags
        on
            single_voters.image_number = member_tags.image_number
            and single_voters.source = member_tags.source
),

single_voter_tags as (
    -- Confidence 1 for every tag, so the order is the tags' own (sorted) order.
    select
        image_number,
        list_transform(
            tags,
            tag -> struct_pack(
                tag := tag,
                confidence := 1.0::double,
                category := coalesce(named_categories[list_position(named_tags, tag)], 'general')
            )
        ) as tag_confidences
    from single_voter_categories
),

shared_tags as (
    -- list_sort orders the structs by their first field, then the next: the negated confidence
    -- puts the most certain first and the tag breaks ties.
    select
        image_number,
        list_sort(
            list(struct_pack(
                negated_confidence := -confidence,
                tag := tag,
                confidence := confidence,
                category := category
            ))
        ) as ranked_tags
    from (
        {{ image_tag_votes(scope=memo_image_scope('image_number')) }}
    ) as tag_votes
    where tag_weight >= {{ min_confidence }} * image_weight
    group by image_number
),

kept_tags as (
    select
        image_number,
        tag_confidences
    from single_voter_tags
    union all
    select
        image_number,
        list_transform(
            ranked_tags,
            ranked -> struct_pack(
                tag := ranked.tag, confidence := ranked.confidence, category := ranked.category
            )
        ) as tag_confidences
    from shared_tags
)

select
    image_number,
    tag_confidences
from kept_tags
