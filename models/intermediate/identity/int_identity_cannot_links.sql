-- Pairs of identity nodes that the raw data says are different pictures, one row per pair with
-- left_key < right_key. Clustering refuses any edge that would put such a pair in one cluster,
-- and calibration uses the pairs as its hardest negatives.
--
-- Reasons: `booru_parent_child` (a danbooru, gelbooru or yande.re post and the parent it names:
-- a variant or another page of the same set), `pixiv_work_pages` (two pages of one pixiv work)
-- and `same_source_other_page` (two posts of one site with different md5 whose links name
-- different pages of one pixiv work).
{%- set booru_sources = ['danbooru', 'gelbooru', 'yandere']
    | select('in', var('enabled_sources')) | list %}

with

nodes as (
    select image_key
    from {{ ref('int_identity_nodes') }}
),

posts as (
    select
        image_key,
        source,
        post_id,
        md5
    from {{ ref('int_posts_unioned') }}
),

parent_child_pairs as (
    select
        cast(null as varchar) as left_key,
        cast(null as varchar) as right_key
    where false
    {%- for source_name in booru_sources %}

        union all

        select
            image_key as left_key,
            '{{ source_name }}:' || parent_id as right_key
        from {{ ref('stg_' ~ source_name ~ '__posts') }}
        where parent_id is not null
    {%- endfor %}
),

pixiv_page_pairs as (
    select
        earlier.image_key as left_key,
        later.image_key as right_key
    from posts as earlier
    inner join posts as later
        on
            earlier.post_id = later.post_id
            and earlier.source = later.source
            and earlier.image_key < later.image_key
    where earlier.source = 'pixiv'
),

-- Links that name one page of a pixiv work (exact page links only).
page_links as (
    select
        links.image_key,
        posts.source,
        links.target_post_id,
        links.target_page,
        posts.md5
    from {{ ref('int_posts_links') }} as links
    inner join posts on links.image_key = posts.image_key
    where links.target_source = 'pixiv' and links.target_page is not null
),

other_page_pairs as (
    select
        earlier.image_key as left_key,
        later.image_key as right_key
    from page_links as earlier
    inner join page_links as later
        on
            earlier.source = later.source
            and earlier.target_post_id = later.target_post_id
            and earlier.image_key < later.image_key
    where
        earlier.target_page != later.target_page
        and earlier.md5 is distinct from later.md5
),

candidate_pairs as (
    select
        left_key,
        right_key,
        'booru_parent_child' as reason
    from parent_child_pairs
    union all
    select
        left_key,
        right_key,
        'pixiv_work_pages' as reason
    from pixiv_page_pairs
    union all
    select
        left_key,
        right_key,
        'same_source_other_page' as reason
    from other_page_pairs
),

ordered_pairs as (
    select
        least(left_key, right_key) as left_key,
        greatest(left_key, right_key) as right_key,
        reason
    from candidate_pairs
    where left_key != right_key
)

-- A pair with several reasons keeps the first by name, so each pair appears once.
select
    ordered_pairs.left_key,
    ordered_pairs.right_key,
    min(ordered_pairs.reason) as reason
from ordered_pairs
inner join nodes as left_nodes on ordered_pairs.left_key = left_nodes.image_key
inner join nodes as right_nodes on ordered_pairs.right_key = right_nodes.image_key
group by ordered_pairs.left_key, ordered_pairs.right_key
