-- The chosen rating, artist, characters, copyrights and created_at of every image: each one a
-- `weighted_pick` over its representative posts' values, weighted by `source_trust`. A post
-- with no value (NULL, or an empty list) abstains, and a post with several artists votes for
-- each; a field nobody votes on stays NULL.
with

member_fields as (
    select
        image_id,
        source,
        rating,
        created_at,
        artists,
        characters,
        copyrights
    from {{ ref('int_image_member_fields') }}
),

images as (
    select distinct image_id
    from member_fields
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
    {{ weighted_pick('rating_votes', 'rating') }}
),

artist_picks as (
    {{ weighted_pick('artist_votes', 'artist') }}
),

characters_picks as (
    {{ weighted_pick('characters_votes', 'characters') }}
),

copyrights_picks as (
    {{ weighted_pick('copyrights_votes', 'copyrights') }}
),

created_at_picks as (
    {{ weighted_pick('created_at_votes', 'created_at') }}
)

select
    images.image_id,
    rating_picks.value as rating,
    artist_picks.value as artist,
    characters_picks.value as characters,
    copyrights_picks.value as copyrights,
    created_at_picks.value as created_at
from images
left join rating_picks on images.image_id = rating_picks.image_id
left join artist_picks on images.image_id = artist_picks.image_id
left join characters_picks on images.image_id = characters_picks.image_id
left join copyrights_picks on images.image_id = copyrights_picks.image_id
left join created_at_picks on images.image_id = created_at_picks.image_id
