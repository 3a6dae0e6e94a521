-- The lake's own labelled pairs for calibrating the embedding threshold, with their cosine.
--
-- Positives: pairs that a `pixiv_id` or `source_url` edge joins and whose files differ (other
-- md5, byte size or pixel size): re-encodes, resizes and crops, the realistic near-duplicates.
-- (md5 edges join byte-identical files, which every threshold finds.) Negatives: the
-- cannot-link pairs, the hardest ones, plus one seeded random pair per embedded image that no
-- evidence joins. Every pair falls into the `fit` or the `holdout` split by a seeded hash.
{%- set seed = var('identity_calibration_seed') %}

with

embedded as (
    select
        embeddings.image_key,
        embeddings.embedding,
        files.bytes,
        files.width,
        files.height,
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
),

labelled as (
    -- A linked pair that is also cannot-linked contradicts itself and is no label.
    select
        linked_pairs.left_key,
        linked_pairs.right_key,
        true as is_same_picture,
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
        reason as label_source
    from cannot_links
    union all
    select
        left_key,
        right_key,
        false as is_same_picture,
        label_source
    from unjoined_random_pairs
)

select
    labelled.left_key,
    labelled.right_key,
    labelled.is_same_picture,
    labelled.label_source,
    array_cosine_similarity(left_images.embedding, right_images.embedding) as score,
    case
        when hash('{{ seed }}', labelled.left_key, labelled.right_key) % 2 = 0 then 'fit'
        else 'holdout'
    end as split
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
