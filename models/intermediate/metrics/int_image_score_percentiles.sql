-- How well each image scores on its site: the percentile of a member post's score among the
-- kept posts of the same source and rating (percent_rank: the share of those posts that score
-- strictly lower). The member is the image's best file when its post has a score, else the
-- most trusted member that has one (source_priority, then the representative, then the
-- smallest key). Images whose members have no score (zerochan) have no row.
with

posts as (
    select
        image_key,
        source,
        rating,
        score
    from {{ ref('int_posts_kept') }}
    where score is not null
),

post_percentiles as (
    select
        image_key,
        source,
        rating,
        score,
        percent_rank() over (partition by source, rating order by score asc) as score_percentile
    from posts
),

members as (
    select
        image_id,
        image_key,
        source,
        is_representative
    from {{ ref('int_image_members') }}
),

best_files as (
    select
        image_id,
        best_image_key
    from {{ ref('int_image_best_files') }}
),

ranked_members as (
    select
        members.image_id,
        post_percentiles.image_key,
        post_percentiles.source,
        post_percentiles.rating,
        post_percentiles.score,
        post_percentiles.score_percentile,
        row_number() over (
            partition by members.image_id
            order by
                members.image_key = best_files.best_image_key desc,
                {{ member_trust_order('members') }}
        ) as member_rank
    from members
    inner join best_files on members.image_id = best_files.image_id
    inner join post_percentiles on members.image_key = post_percentiles.image_key
)

select
    image_id,
    image_key as score_image_key,
    source as score_source,
    rating as score_rating,
    score,
    score_percentile
from ranked_members
where member_rank = 1
