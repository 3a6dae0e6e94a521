-- Every metric the metrics mart has a column for: the rows of the metrics_registry seed, plus
-- each metric that has values but no registry row, which gets a column named after it, the
-- var `metric_default_aggregation` and no threshold. A metric is text when any of its values
-- is (value_text), else a double. `scale_warning` says when the values contradict the
-- registry's scale: a value outside it, or a threshold that drops every image with a value
-- (0-1 scores against a threshold on a 0-10 scale); the metrics mart logs it as a warning.
with

registry as (
    select
        metric,
        column_name,
        aggregation,
        direction,
        threshold,
        scale_min,
        scale_max,
        description
    from {{ ref('metrics_registry') }}
),

observed_metrics as (
    select
        metric,
        bool_or(value_text is not null) as has_text,
        min(value) as observed_min,
        max(value) as observed_max
    from {{ ref('int_metric_values') }}
    group by metric
),

definitions as (
    select
        coalesce(registry.metric, observed_metrics.metric) as metric,
        coalesce(registry.column_name, observed_metrics.metric) as column_name,
        coalesce(
            registry.aggregation, '{{ var("metric_default_aggregation") }}'
        ) as aggregation,
        registry.direction,
        registry.threshold,
        registry.scale_min,
        registry.scale_max,
        observed_metrics.observed_min,
        observed_metrics.observed_max,
        case when coalesce(observed_metrics.has_text, false) then 'varchar' else 'double' end
            as value_type,
        registry.metric is not null as is_registered,
        coalesce(
            registry.description, 'Found in the lake; not described in metrics_registry.'
        ) as description
    from registry
    full outer join observed_metrics on registry.metric = observed_metrics.metric
),

scale_problems as (
    select
        *,
        case
            when observed_min < scale_min or observed_max > scale_max
                then 'values leave the declared scale'
            when direction = 'higher_is_better' and threshold > observed_max
                then 'the threshold is above every value, so the training filter drops every image'
                    || ' with one'
            when direction = 'lower_is_better' and threshold < observed_min
                then 'the threshold is below every value, so the training filter drops every image'
                    || ' with one'
        end as scale_problem
    from definitions
)

select
    metric,
    column_name,
    aggregation,
    direction,
    threshold,
    scale_min,
    scale_max,
    observed_min,
    observed_max,
    value_type,
    is_registered,
    description,
    case
        when scale_problem is not null
            then format(
                    'metric {}: observed values {}..{} but metrics_registry declares a {}..{} scale'
                    || ' (threshold {}, {}): {}. Put the metric files on the declared scale, or set'
                    || ' its scale and threshold in seeds/metrics_registry.csv.',
                    metric, round(observed_min, 4), round(observed_max, 4), scale_min, scale_max,
                    coalesce(cast(threshold as varchar), 'none'),
                    coalesce(direction, 'no direction'),
                    scale_problem
                )
    end as scale_warning
from scale_problems
