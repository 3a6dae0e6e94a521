-- How many raw rows, posts, image keys or images each source has at each step, from raw rows
-- and staged posts through the dedup step to the export and rejections, plus the raw rows that
-- are neither staged nor rejected in staging (`raw_unaccounted`) and the staged image keys that
-- are neither exported nor rejected (`unaccounted`); both must be 0. One row per (source,
-- step); source `all` totals every source. Each step names its unit and says what it counts.
{%- set steps = [
    {'name': 'raw_rows', 'unit': 'raw rows',
     'description': 'rows in the raw files'},
    {'name': 'staging_rejected', 'unit': 'raw rows',
     'description': 'raw rows with a bad value or a duplicate post id (rejections, stage staging)'},
    {'name': 'raw_unaccounted', 'unit': 'raw rows',
     'description': 'raw rows neither staged nor rejected in staging; always 0'},
    {'name': 'staged_posts', 'unit': 'posts',
     'description': 'distinct posts staged (a pixiv work is one post of several pages)'},
    {'name': 'staged_image_keys', 'unit': 'image keys',
     'description': 'image keys of the staged posts, one per image file a post names'},
    {'name': 'prefilter_rejected', 'unit': 'image keys',
     'description': 'keys the prefilter dropped (rejections, stage prefilter)'},
    {'name': 'prefilter_kept', 'unit': 'image keys',
     'description': 'staged keys the prefilter kept'},
    {'name': 'image_members', 'unit': 'image keys',
     'description': 'keys that are a member of an image in the images mart'},
    {'name': 'duplicates_merged', 'unit': 'image keys',
     'description': 'dedup: members merged by identity into an image another member also has '
        ~ '(image_members - images)'},
    {'name': 'images', 'unit': 'images',
     'description': 'distinct images after dedup with a member from the source'},
    {'name': 'training_filter_rejected', 'unit': 'image keys',
     'description': 'members whose image the training filter dropped (also in rejections)'},
    {'name': 'training_images', 'unit': 'images',
     'description': 'images that passed the training filter, one prompt each'},
    {'name': 'exported_images', 'unit': 'images',
     'description': 'images in the published export (export_rows)'},
    {'name': 'rejected', 'unit': 'image keys',
     'description': 'distinct keys in rejections; a key rejected for several reasons counts once'},
    {'name': 'rejection_rows', 'unit': 'rejection rows',
     'description': 'rows in rejections: rejected plus the extra rows of keys rejected more '
        ~ 'than once, plus rows without a key (e.g. a broken shard)'},
    {'name': 'unaccounted', 'unit': 'image keys',
     'description': 'staged keys neither exported nor rejected; always 0'},
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

-- A key rejected for several reasons is one rejected key and several rows.
rejection_row_counts as (
    select
        source as scope,
        count(*) as rejection_rows
    from {{ ref('rejections') }}
    group by source
    union all
    select
        'all' as scope,
        count(*) as rejection_rows
    from {{ ref('rejections') }}
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
        count(*) filter (where image_id is not null)
        - count(distinct image_id) as duplicates_merged,
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
        - scope_counts.staged_posts as raw_unaccounted,
        coalesce(rejection_row_counts.rejection_rows, 0) as rejection_rows
    from scope_counts
    left join raw_scope_counts on scope_counts.scope = raw_scope_counts.scope
    left join rejection_row_counts on scope_counts.scope = rejection_row_counts.scope
)

{% for step in steps -%}
    select
        scope as source,  -- noqa: RF04
        {{ loop.index }} as step,
        '{{ step.name }}' as stage,  -- noqa: RF04
        '{{ step.unit }}' as unit,
        {{ step.name }} as n,
        '{{ step.description }}' as description
    from step_counts
    {% if not loop.last -%}
        union all
    {% endif -%}
{% endfor %}
