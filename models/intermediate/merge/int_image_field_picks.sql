-- The chosen rating, artist, characters, copyrights and created_at of every image: each one a
-- `weighted_pick` over its representative posts' values, weighted by `source_trust`. A post
-- with no value (NULL, or an empty list) abstains, and a post with several artists votes for
-- each; a field nobody votes on stays NULL. Grouped and joined on image_number, the integer key
-- of the image (int_image_members); the sample mode still draws from the stable image_id.
-- depends_on: {{ ref('int_image_digests') }}

with

member_fields as (
    select
        image_number,
        image_id,
        source,
        rating,
        created_at,
        artists,
        characters,
        copyrights
    from {{ ref('int_image_member_fields') }}
    where {{ memo_image_scope('image_number') }}
),

images as (
    select
        image_number,
        any_value(image_id) as image_id
    from member_fields
    group by image_number
),

rating_votes as (
    {{ trust_votes('member_fields', 'rating', 'members.rating') }}
),

artist_votes as (
    {{ trust_votes('member_fields', 'artist', 'unnest(members.artists)') }}
),

characters_votes as (
    {{ trust_votes('member_fields', 'characters', 'nullif(members.characters, [])') }}
),

copyrights_votes as (
    {{ trust_votes('member_fields', 'copyrights', 'nullif(members.copyrights, [])') }}
),

created_at_votes as (
    {{ trust_votes('member_fields', 'created_at', 'members.created_at') }}
),

rating_picks as (
    {{ weighted_pick('rating_votes', 'rating', key='image_number') }}
),

artist_picks as (
    {{ weighted_pick('artist_votes', 'artist', key='image_number') }}
),

characters_picks as (
    {{ weighted_pick('characters_votes', 'characters', key='image_number') }}
),

copyrights_picks as (
    {{ weighted_pick('copyrights_votes', 'copyrights', key='image_number') }}
),

created_at_picks as (
    {{ weighted_pick('created_at_votes', 'created_at', key='image_number') }}
)

select
    images.image_id,
    images.image_number,
    rating_picks.value as rating,
    artist_picks.value as artist,
    characters_picks.value as characters,
    copyrights_picks.value as copyrights,
    created_at_picks.value as created_at
from images
left join rating_picks on images.image_number = rating_picks.image_number
left join artist_picks on images.image_number = artist_picks.image_number
left join characters_picks on images.image_number = characters_picks.image_number
left join copyrights_picks on images.image_number = copyrights_picks.image_number
left join created_at_picks on images.image_number = created_at_picks.image_number
