-- How many keys each source has at each step, from raw rows and staged posts to the export and
-- rejections, plus the raw rows that are neither staged nor rejected in staging
-- (`raw_unaccounted`) and the staged image keys that are neither exported nor rejected
-- (`unaccounted`); both must be 0. One row per (source, step); source `all` totals every source.
{%- set steps = [
    'raw_rows',
    'staging_rejected',
    'raw_unaccounted',
    'staged_posts',
    'staged_image_keys',
    'prefilter_rejected',
    'prefilter_kept',
    'image_members',
    'images',
    'training_filter_rejected',
    'training_images',
    'exported_images',
    'rejected',
    'unaccounted',
] %}

with

-- Each raw row is one staged post or one staging rejection (a bad value, a duplicate post id).
raw_row_counts as (
    select
        raw_posts.source,
        raw_posts.raw_rows,
        (
            select count(*) from {{ ref('stg_post_rejections') }} as staging_rejections
            where staging_rejections.source = raw_posts.source
        ) as staging_rejected
    from {{ ref('stg_raw_post_counts') }} as raw_posts
),

raw_scope_counts as (
    select
        source as scope,
        raw_rows,
        staging_rejected
    from raw_row_counts
    union all
    select
        'all' as scope,
        sum(raw_rows) as raw_rows,
        sum(staging_rejected) as staging_rejected
    from raw_row_counts
),

staged_posts as (
    select
        image_key,
        source,
        post_id
    from {{ ref('int_posts_unioned') }}
),

prefilter_decisions as (
    select
        image_key,
        reason
    from {{ ref('int_posts_prefilter_decisions') }}
),

-- The images mart is the pipeline's output: a key counts as kept when an image lists it.
image_members as (
    select
        image_id,
        unnest(member_keys) as image_key
    from {{ ref('images') }}
),

-- Images that passed the training filter (the ones with a prompt).
training_candidates as (
    select image_id
    from {{ ref('int_training_candidates') }}
),

-- The export is the last step: an image counts as delivered when export_rows holds it.
exported_images as (
    select image_id
    from {{ ref('export_rows') }}
),

rejected_keys as (
    select distinct
        image_key,
        source
    from {{ ref('rejections') }}
    where image_key is not null
),

-- Every key the funnel follows: staged posts, and rejected keys that never were posts
-- (an image without a post, for instance).
tracked_keys as (
    select
        image_key,
        source
    from staged_posts
    union
    select
        image_key,
        source
    from rejected_keys
),

key_status as (
    select
        tracked_keys.source,
        tracked_keys.image_key,
        staged_posts.image_key is not null as is_staged,
        staged_posts.source || ':' || staged_posts.post_id as post_ref,
        prefilter_decisions.reason as prefilter_reason,
        image_members.image_id,
        image_members.image_id in (
            select training_candidates.image_id from training_candidates
        ) as is_training_candidate,
        coalesce(image_members.image_id in (
            select exported_images.image_id from exported_images
        ), false) as is_exported,
        coalesce(tracked_keys.image_key in (
            select rejected_keys.image_key from rejected_keys
        ), false) as is_rejected
    from tracked_keys
    left join staged_posts on tracked_keys.image_key = staged_posts.image_key
    left join prefilter_decisions on tracked_keys.image_key = prefilter_decisions.image_key
    left join image_members on tracked_keys.image_key = image_members.image_key
),

-- Each key once under its source and once under `all`.
scoped_keys as (
    select
        source as scope,
        is_staged,
        post_ref,
        prefilter_reason,
        image_id,
        is_training_candidate,
        is_exported,
        is_rejected
    from key_status
    union all
    select
        'all' as scope,
        is_staged,
        post_ref,
        prefilter_reason,
        image_id,
        is_training_candidate,
        is_exported,
        is_rejected
    from key_status
),

scope_counts as (
    select
        scope,
        count(distinct post_ref) as staged_posts,
        count(*) filter (where is_staged) as staged_image_keys,
        count(*) filter (where prefilter_reason is not null) as prefilter_rejected,
        count(*) filter (where is_staged and prefilter_reason is null) as prefilter_kept,
        count(*) filter (where image_id is not null) as image_members,
        count(distinct image_id) as images,
        count(*) filter (where not is_training_candidate) as training_filter_rejected,
        count(distinct image_id) filter (where is_training_candidate) as training_images,
        count(distinct image_id) filter (where is_exported) as exported_images,
        count(*) filter (where is_rejected) as rejected,
        count(*) filter (
            where is_staged and not is_exported and not is_rejected
        ) as unaccounted
    from scoped_keys
    group by scope
),

step_counts as (
    select
        scope_counts.*,
        coalesce(raw_scope_counts.raw_rows, 0) as raw_rows,
        coalesce(raw_scope_counts.staging_rejected, 0) as staging_rejected,
        coalesce(raw_scope_counts.raw_rows, 0) - coalesce(raw_scope_counts.staging_rejected, 0)
        - scope_counts.staged_posts as raw_unaccounted
    from scope_counts
    left join raw_scope_counts on scope_counts.scope = raw_scope_counts.scope
)

{% for name in steps -%}
    select
        scope as source,  -- noqa: RF04
        {{ loop.index }} as step,
        '{{ name }}' as stage,  -- noqa: RF04
        {{ name }} as n
    from step_counts
    {% if not loop.last -%}
        union all
    {% endif -%}
{% endfor %}
