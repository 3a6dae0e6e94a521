-- Which artist tag each uploader account is, on the sources whose uploader is the artist (var
-- `artist_account_columns`, e.g. pixiv's user_id). Learned from images where such an account's
-- post is merged with a post whose own tags name the artist by category (danbooru): the
-- artist named on the most such images wins, ties by the smaller tag.
with

account_posts as (
    {{ artist_account_posts() }}
),

representatives as (
    select
        image_id,
        image_key,
        field_tags_by_category
    from {{ ref('int_image_representatives') }}
),

account_images as (
    select
        representatives.image_id,
        account_posts.source,
        account_posts.account
    from representatives
    inner join account_posts on representatives.image_key = account_posts.image_key
),

named_artists as (
    select
        image_id,
        unnest(struct_extract(field_tags_by_category, 'artist')) as artist
    from representatives
    where field_tags_by_category is not null
),

artist_evidence as (
    select
        account_images.source,
        account_images.account,
        named_artists.artist,
        count(distinct account_images.image_id) as n_images
    from account_images
    inner join named_artists on account_images.image_id = named_artists.image_id
    where named_artists.artist is not null
    group by account_images.source, account_images.account, named_artists.artist
),

ranked_evidence as (
    select
        source,
        account,
        artist,
        n_images,
        row_number() over (
            partition by source, account order by n_images desc, artist asc
        ) as evidence_rank
    from artist_evidence
)

select
    source,
    account,
    artist,
    n_images
from ranked_evidence
where evidence_rank = 1
