-- Images the training filter drops, one row per member key and failed metric, in the shape of
-- the `rejection_models`: a metric with a threshold in the registry fails when the image's
-- value is below it (`higher_is_better`, reason `<metric>_below_threshold`) or above it
-- (`lower_is_better`, `<metric>_above_threshold`). An image without a value passes: a missing
-- measurement is not evidence against it. Text metrics have no threshold.
with

thresholds as (
    select
        metric,
        direction,
        threshold
    from {{ ref('int_metric_definitions') }}
    where threshold is not null and value_type = 'double'
),

image_metrics as (
    select
        image_id,
        metric,
        value
    from {{ ref('int_image_metrics') }}
),

members as (
    select
        image_id,
        image_key,
        source,
        post_key
    from {{ ref('int_image_members') }}
),

failed_metrics as (
    select
        image_metrics.image_id,
        image_metrics.metric,
        image_metrics.value,
        thresholds.threshold,
        case thresholds.direction
            when 'higher_is_better' then 'below'
            when 'lower_is_better' then 'above'
        end as side
    from image_metrics
    inner join thresholds on image_metrics.metric = thresholds.metric
    where
        (thresholds.direction = 'higher_is_better' and image_metrics.value < thresholds.threshold)
        or (thresholds.direction = 'lower_is_better' and image_metrics.value > thresholds.threshold)
)

select
    members.image_key,
    members.source,
    members.post_key,
    failed_metrics.image_id,
    'training_filter' as stage,  -- noqa: RF04
    failed_metrics.metric || '_' || failed_metrics.side || '_threshold' as reason,
    failed_metrics.metric || '=' || round(failed_metrics.value, 4)
    || case failed_metrics.side when 'below' then ' < ' else ' > ' end
    || failed_metrics.threshold || ' (image ' || failed_metrics.image_id || ')' as detail,
    failed_metrics.metric,
    failed_metrics.value,
    failed_metrics.threshold
from failed_metrics
inner join members on failed_metrics.image_id = members.image_id
