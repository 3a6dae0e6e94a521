-- Posts that name another post: the post their `source_url` points at (kind `source_url`) and
-- danbooru's `pixiv_id` (kind `pixiv_id`). Targets are not checked for existence here.
--
-- Pixiv pages: a URL that names a page (`<id>_p<N>.<ext>`, `page=<N>`) targets that page, and a
-- danbooru pixiv_id link takes the page its own source URL names when that URL is a page of the
-- same work. A link that names only the work targets page 0, and is exact
-- (`target_is_exact`) only when the work has a single page: a copy of a multi-page work shows
-- one page, often not the first, and linking every page would merge the whole work.
with

posts as (
    select
        image_key,
        source,
        post_id,
        source_url
    from {{ ref('int_posts_unioned') }}
),

-- The parse goes into a one-element list that the next CTE unnests, because filters are not
-- pushed below an unnest: pushed down, they would repeat the whole parse once per field read.
parsed_url_lists as (
    select
        image_key,
        source,
        post_id,
        source_url,
        [{{ parse_post_url('source_url') }}] as linked_posts
    from posts
    where source_url is not null
),

parsed_urls as (
    select
        image_key,
        source,
        post_id,
        source_url,
        unnest(linked_posts) as linked_post
    from parsed_url_lists
),

url_links as (
    select
        parsed_urls.image_key,
        parsed_urls.source,
        parsed_urls.source_url,
        'source_url' as kind,
        parsed_urls.linked_post.target_source,
        parsed_urls.linked_post.target_post_id,
        parsed_urls.linked_post.target_page
    from parsed_urls
    where
        parsed_urls.linked_post.target_post_id is not null
        -- a post pointing at itself (a pixiv page naming its own work) is not a link
        and not (
            parsed_urls.linked_post.target_source = parsed_urls.source
            and parsed_urls.linked_post.target_post_id = parsed_urls.post_id
        )
),

posts_with_pixiv_id as (
    select
        image_key,
        pixiv_id
    from {{ ref('int_posts_source_fields') }}
    where pixiv_id is not null
),

pixiv_id_links as (
    select
        posts.image_key,
        posts.source,
        posts.source_url,
        'pixiv_id' as kind,
        'pixiv' as target_source,
        posts_with_pixiv_id.pixiv_id as target_post_id,
        url_links.target_page
    from posts_with_pixiv_id
    inner join posts on posts_with_pixiv_id.image_key = posts.image_key
    left join url_links
        on
            posts_with_pixiv_id.image_key = url_links.image_key
            and url_links.target_source = 'pixiv'
            and posts_with_pixiv_id.pixiv_id = url_links.target_post_id
),

links as (
    {{ union_all_select(
        ['url_links', 'pixiv_id_links'],
        ['image_key', 'source', 'source_url', 'kind', 'target_source', 'target_post_id', 'target_page']
    ) }}
),

pixiv_work_sizes as (
    select
        source,
        post_id,
        count(*) as page_count
    from posts
    where source = 'pixiv'
    group by source, post_id
),

link_targets as (
    select
        links.image_key,
        links.source,
        links.source_url,
        links.kind,
        links.target_source,
        links.target_post_id,
        links.target_page,
        case
            when links.target_source = 'pixiv'
                then format('{}_p{}', links.target_post_id, coalesce(links.target_page, 0))
            else cast(links.target_post_id as varchar)
        end as target_post_key,
        (
            links.target_source != 'pixiv'
            or links.target_page is not null
            or coalesce(pixiv_work_sizes.page_count = 1, false)
        ) as target_is_exact
    from links
    -- An equi-join on both columns (not `target_source = 'pixiv'`), so that it is a hash join.
    left join pixiv_work_sizes
        on
            links.target_source = pixiv_work_sizes.source
            and links.target_post_id = pixiv_work_sizes.post_id
)

select
    image_key,
    source,
    source_url,
    kind,
    target_source,
    target_post_id,
    target_page,
    target_post_key,
    target_source || ':' || target_post_key as target_image_key,
    target_is_exact
from link_targets
