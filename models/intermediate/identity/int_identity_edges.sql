-- Evidence that two identity nodes show the same picture, one row per (pair, kind), with
-- left_key < right_key and both ends in int_identity_nodes.
--
-- Built-in kinds (score 1.0): `md5` (equal file hashes), `source_url` and `pixiv_id` (one post
-- names the other; see int_posts_links, exact links only by default; optionally verified by
-- embedding similarity, `link_verify_threshold`). Further kinds plug in
-- through the `identity_edge_models` var: each listed model yields left_key, right_key, kind
-- and score, and is normalized and filtered here like the built-in kinds.
with

nodes as (
    select image_key
    from {{ ref('int_identity_nodes') }}
),

kept_md5s as (
    select
        image_key,
        md5
    from {{ ref('int_posts_kept') }}
    where md5 is not null
),

-- A star per md5 group (every member to the group's smallest key) connects the group with
-- n - 1 edges instead of n * (n - 1) / 2.
md5_anchors as (
    select
        md5,
        min(image_key) as anchor_key
    from kept_md5s
    group by md5
    having count(*) > 1
),

md5_edges as (
    select
        md5_anchors.anchor_key as left_key,
        kept_md5s.image_key as right_key,
        'md5' as kind,
        1.0 as score
    from kept_md5s
    inner join md5_anchors on kept_md5s.md5 = md5_anchors.md5
    where kept_md5s.image_key != md5_anchors.anchor_key
),

-- Links that name a multi-page pixiv work but no page are left to image similarity unless the
-- `pixiv_work_links_to_first_page` var says to take page 0.
link_edges as (
    select
        image_key as left_key,
        target_image_key as right_key,
        kind,
        1.0 as score
    from {{ ref('int_posts_links') }}
    {%- if var('pixiv_work_links_to_first_page', false) %}
        where target_is_exact or target_source = 'pixiv'
    {%- else %}
        where target_is_exact
    {%- endif %}
),

-- Link verification (with `link_verify_threshold` set): a link whose two images are both
-- embedded must also look alike; a link with an image not embedded is kept.
verified_link_edges as (
    select
        link_edges.left_key,
        link_edges.right_key,
        link_edges.kind,
        link_edges.score
    from link_edges
    {%- if var('link_verify_threshold', none) is not none %}
        left join {{ ref('int_image_embeddings') }} as left_embeddings
            on link_edges.left_key = left_embeddings.image_key
        left join {{ ref('int_image_embeddings') }} as right_embeddings
            on link_edges.right_key = right_embeddings.image_key
        where
            left_embeddings.embedding is null
            or right_embeddings.embedding is null
            or array_cosine_similarity(left_embeddings.embedding, right_embeddings.embedding)
            >= {{ var('link_verify_threshold') }}
    {%- endif %}
),

candidate_edges as (
    {%- set edge_relations = ['md5_edges', 'verified_link_edges'] %}
    {%- for model_name in var('identity_edge_models', []) %}
        {%- do edge_relations.append(ref(model_name)) %}
    {%- endfor %}
    {{ union_all_select(edge_relations, ['left_key', 'right_key', 'kind', 'score']) }}
),

ordered_edges as (
    select
        least(left_key, right_key) as left_key,
        greatest(left_key, right_key) as right_key,
        kind,
        cast(score as double) as score
    from candidate_edges
    where left_key != right_key
),

node_edges as (
    select
        ordered_edges.left_key,
        ordered_edges.right_key,
        ordered_edges.kind,
        ordered_edges.score
    from ordered_edges
    inner join nodes as left_nodes on ordered_edges.left_key = left_nodes.image_key
    inner join nodes as right_nodes on ordered_edges.right_key = right_nodes.image_key
)

select
    left_key,
    right_key,
    kind,
    max(score) as score
from node_edges
group by left_key, right_key, kind
