-- The lake's own labelled pairs for calibrating the embedding threshold, with their cosine.
--
-- Positives: pairs that a `pixiv_id` or `source_url` edge joins and whose files differ (other
-- md5, byte size or pixel size): re-encodes, resizes and crops, the realistic near-duplicates.
-- (md5 edges join byte-identical files, which every threshold finds.) Negatives: the
-- cannot-link pairs (flagged: refusal keeps them apart, so calibration reports them apart);
-- the hard negatives refusal does not cover, i.e. near-duplicate candidates (embedding edges)
-- joining two posts of one site with different md5, on the sites of
-- `identity_distinct_picture_sources`, which host a picture once; and one seeded random pair
-- per embedded image that no evidence joins and that scores below `near_dup_candidate_floor`.
-- Every pair falls into the `fit` or the `holdout` split by a seeded hash.
{%- set seed = var('identity_calibration_seed') %}
{%- set distinct_picture_sources = var('identity_distinct_picture_sources') %}

with

embedded as (
    select
        embeddings.image_key,
        embeddings.embedding,
        files.bytes,
        files.width,
        files.height,
        posts.source,
        posts.md5
    from {{ ref('int_image_embeddings') }} as embeddings
    inner join {{ ref('int_identity_nodes') }} as nodes on embeddings.image_key = nodes.image_key
    left join {{ ref('int_image_files') }} as files on embeddings.image_key = files.image_key
    left join {{ ref('int_posts_unioned') }} as posts on embeddings.image_key = posts.image_key
    where embeddings.error is null
),

evidence_edges as (
    select
        left_key,
        right_key,
        kind
    from {{ ref('int_identity_edges') }}
    where kind != 'embedding'
),

cannot_links as (
    select
        left_key,
        right_key,
        reason
    from {{ ref('int_identity_cannot_links') }}
),

-- Candidates the search found that one site hosts with different bytes: different pictures.
same_site_pairs as (
    select
        candidates.left_key,
        candidates.right_key,
        'same_source_other_md5' as label_source
    from {{ ref('int_identity_edges') }} as candidates
    inner join embedded as left_images on candidates.left_key = left_images.image_key
    inner join embedded as right_images on candidates.right_key = right_images.image_key
    where
        candidates.kind = 'embedding'
        and left_images.source = right_images.source
        -- The trailing null keeps the list valid when the var is empty (and matches nothing).
        and left_images.source in (
            {%- for source_name in distinct_picture_sources %}
                '{{ source_name }}',
            {%- endfor %}
            null
        )
        and left_images.md5 != right_images.md5
),

hard_negatives as (
    select
        same_site_pairs.left_key,
        same_site_pairs.right_key,
        same_site_pairs.label_source
    from same_site_pairs
    anti join evidence_edges
        on
            same_site_pairs.left_key = evidence_edges.left_key
            and same_site_pairs.right_key = evidence_edges.right_key
    anti join cannot_links
        on
            same_site_pairs.left_key = cannot_links.left_key
            and same_site_pairs.right_key = cannot_links.right_key
),

linked_pairs as (
    select
        left_key,
        right_key,
        min(kind) as label_source
    from evidence_edges
    where kind in ('pixiv_id', 'source_url')
    group by left_key, right_key
),

-- A random cycle through the embedded images: each image paired with the next in hash order.
shuffled as (
    select
        image_key,
        row_number() over (order by hash('{{ seed }}', image_key), image_key) as shuffle_rank,
        count(*) over () as image_count
    from embedded
),

random_pairs as (
    select
        least(shuffled.image_key, next_images.image_key) as left_key,
        greatest(shuffled.image_key, next_images.image_key) as right_key,
        'random_pair' as label_source
    from shuffled
    inner join shuffled as next_images
        on next_images.shuffle_rank = shuffled.shuffle_rank % shuffled.image_count + 1
    where shuffled.image_count > 2
),

unjoined_random_pairs as (
    select distinct
        random_pairs.left_key,
        random_pairs.right_key,
        random_pairs.label_source
    from random_pairs
    anti join evidence_edges
        on
            random_pairs.left_key = evidence_edges.left_key
            and random_pairs.right_key = evidence_edges.right_key
    anti join cannot_links
        on
            random_pairs.left_key = cannot_links.left_key
            and random_pairs.right_key = cannot_links.right_key
    anti join hard_negatives
        on
            random_pairs.left_key = hard_negatives.left_key
            and random_pairs.right_key = hard_negatives.right_key
),

labelled as (
    -- A linked pair that is also cannot-linked contradicts itself and is no label.
    select
        linked_pairs.left_key,
        linked_pairs.right_key,
        true as is_same_picture,
        false as is_cannot_link,
        linked_pairs.label_source
    from linked_pairs
    anti join cannot_links
        on
            linked_pairs.left_key = cannot_links.left_key
            and linked_pairs.right_key = cannot_links.right_key
    union all
    select
        left_key,
        right_key,
        false as is_same_picture,
        true as is_cannot_link,
        reason as label_source
    from cannot_links
    union all
    select
        left_key,
        right_key,
        false as is_same_picture,
        false as is_cannot_link,
        label_source
    from hard_negatives
    union all
    select
        left_key,
        right_key,
        false as is_same_picture,
        false as is_cannot_link,
        label_source
    from unjoined_random_pairs
),

scored as (
    select
        labelled.left_key,
        labelled.right_key,
        labelled.is_same_picture,
        labelled.is_cannot_link,
        labelled.label_source,
        array_cosine_similarity(left_images.embedding, right_images.embedding) as score
    from labelled
    inner join embedded as left_images on labelled.left_key = left_images.image_key
    inner join embedded as right_images on labelled.right_key = right_images.image_key
    where
        not labelled.is_same_picture
        or (
            left_images.md5 != right_images.md5
            or left_images.bytes is distinct from right_images.bytes
            or left_images.width is distinct from right_images.width
            or left_images.height is distinct from right_images.height
        )
)

select
    left_key,
    right_key,
    is_same_picture,
    is_cannot_link,
    label_source,
    score,
    case
        when hash('{{ seed }}', left_key, right_key) % 2 = 0 then 'fit'
        else 'holdout'
    end as split
from scored
-- A random pair is a negative because two random images are almost never one picture; one
-- that scores like a near-duplicate candidate may well be a copy no link names: no label.
where label_source != 'random_pair' or score < {{ var('near_dup_candidate_floor') }}
