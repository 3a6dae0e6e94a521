-- What each image's representative posts say about the fields the merge chooses. Artists,
-- characters and copyrights come from the post's own tag categories where its source has them
-- (danbooru), else from its flat tags through the tag dictionary. On sources whose uploader is
-- the artist (pixiv), the uploader account's learned artist tag (int_account_artists) is the
-- post's artist when known. Lists are sorted.
-- depends_on: {{ ref('int_image_digests') }}

with

representatives as (
    select
        image_id,
        image_number,
        image_key,
        source,
        rating,
        created_at,
        tags,
        field_tags_by_category
    from {{ ref('int_image_representatives') }}
    where {{ memo_image_scope('image_number') }}
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
        image_number,
        source,
        {{ tags_in_category('categorized_tags', 'artist') }} as artists,
        {{ tags_in_category('categorized_tags', 'character') }} as characters,
        {{ tags_in_category('categorized_tags', 'copyright') }} as copyrights
    from {{ ref('int_image_member_tag_categories') }}
    where {{ memo_image_scope('image_number') }}
)

select
    representatives.image_id,
    representatives.image_number,
    representatives.image_key,
    representatives.source,
    representatives.rating,
    representatives.created_at,
    case
        when account_artists.artist is not null then [account_artists.artist]
        else {{ categorized_tags(
            'representatives.field_tags_by_category',
            'artist',
            'dictionary_categorized_tags.artists'
        ) }}
    end as artists,
    {{ categorized_tags(
        'representatives.field_tags_by_category',
        'character',
        'dictionary_categorized_tags.characters'
    ) }} as characters,
    {{ categorized_tags(
        'representatives.field_tags_by_category',
        'copyright',
        'dictionary_categorized_tags.copyrights'
    ) }} as copyrights
from representatives
left join account_artists on representatives.image_key = account_artists.image_key
left join dictionary_categorized_tags
    on
        representatives.image_number = dictionary_categorized_tags.image_number
        and representatives.source = dictionary_categorized_tags.source
