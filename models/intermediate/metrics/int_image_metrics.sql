-- One value per (image_id, metric): the values of the image's members (int_metric_values of
-- its member keys) combined by the metric's aggregation (int_metric_definitions): max, min,
-- mean, trust (the most trusted member with a value: its source first in `source_priority`,
-- then the source's representative, then the smallest key) or best (the image's best file).
-- An image with no value for a metric has no row here (the metrics mart shows a NULL).
with

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

metric_values as (
    select
        image_key,
        metric,
        value,
        value_text
    from {{ ref('int_metric_values') }}
),

definitions as (
    select
        metric,
        aggregation
    from {{ ref('int_metric_definitions') }}
),

member_values as (
    select
        members.image_id,
        members.image_key,
        metric_values.metric,
        metric_values.value,
        metric_values.value_text,
        members.image_key = best_files.best_image_key as is_best_file,
        -- Trust order: 1 is the most trusted member.
        row_number() over (
            partition by members.image_id, metric_values.metric
            order by {{ member_trust_order('members') }}
        ) as trust_rank
    from metric_values
    inner join members on metric_values.image_key = members.image_key
    inner join best_files on members.image_id = best_files.image_id
),

aggregated as (
    select
        image_id,
        metric,
        count(*) as n_values,
        max(value) as max_value,
        min(value) as min_value,
        avg(value) as mean_value,
        max(value) filter (where trust_rank = 1) as trust_value,
        max(value) filter (where is_best_file) as best_value,
        max(value_text) as max_text,
        min(value_text) as min_text,
        max(value_text) filter (where trust_rank = 1) as trust_text,
        max(value_text) filter (where is_best_file) as best_text
    from member_values
    group by image_id, metric
),

combined as (
    select
        aggregated.image_id,
        aggregated.metric,
        definitions.aggregation,
        aggregated.n_values,
        case definitions.aggregation
            when 'max' then aggregated.max_value
            when 'min' then aggregated.min_value
            when 'mean' then aggregated.mean_value
            when 'trust' then aggregated.trust_value
            when 'best' then aggregated.best_value
        end as value,  -- noqa: RF04
        case definitions.aggregation
            when 'max' then aggregated.max_text
            when 'min' then aggregated.min_text
            when 'trust' then aggregated.trust_text
            when 'best' then aggregated.best_text
        end as value_text
    from aggregated
    inner join definitions on aggregated.metric = definitions.metric
)

select
    image_id,
    metric,
    aggregation,
    value,
    value_text,
    n_values
from combined
where value is not null or value_text is not null
