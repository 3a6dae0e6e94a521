-- What each image's representative posts say about the fields the merge chooses. Artists,
-- characters and copyrights come from the post's own tag categories where its source has them
-- (danbooru), else from its flat tags through the tag dictionary. On sources whose uploader is
-- the artist (pixiv), the uploader account's learned artist tag (int_account_artists) is the
-- post's artist when known. Lists are sorted.
with

representatives as (
    select
        image_id,
        image_key,
        source
    from {{ ref('int_image_members') }}
    where is_representative
),

kept_posts as (
    select
        image_key,
        rating,
        created_at,
        tags,
        tags_by_category
    from {{ ref('int_posts_kept') }}
),

account_posts as (
    {{ artist_account_posts() }}
),

account_artists as (
    select
        account_posts.image_key,
        int_account_artists.artist
    from account_posts
    inner join {{ ref('int_account_artists') }} as int_account_artists
        on
            account_posts.source = int_account_artists.source
            and account_posts.account = int_account_artists.account
),

dictionary_categorized_tags as (
    select
        image_id,
        source,
        list(tag order by tag) filter (where category = 'artist') as artists,
        list(tag order by tag) filter (where category = 'character') as characters,
        list(tag order by tag) filter (where category = 'copyright') as copyrights
    from {{ ref('int_image_member_tags') }}
    where category in ('artist', 'character', 'copyright')
    group by image_id, source
)

select
    representatives.image_id,
    representatives.image_key,
    representatives.source,
    kept_posts.rating,
    kept_posts.created_at,
    coalesce(len(kept_posts.tags), 0) > 0 as has_tags,
    case
        when account_artists.artist is not null then [account_artists.artist]
        else {{ categorized_tags(
            'kept_posts.tags_by_category', 'artist', 'dictionary_categorized_tags.artists'
        ) }}
    end as artists,
    {{ categorized_tags(
        'kept_posts.tags_by_category', 'character', 'dictionary_categorized_tags.characters'
    ) }} as characters,
    {{ categorized_tags(
        'kept_posts.tags_by_category', 'copyright', 'dictionary_categorized_tags.copyrights'
    ) }} as copyrights
from representatives
inner join kept_posts on representatives.image_key = kept_posts.image_key
left join account_artists on representatives.image_key = account_artists.image_key
left join dictionary_categorized_tags
    on
        representatives.image_id = dictionary_categorized_tags.image_id
        and representatives.source = dictionary_categorized_tags.source
