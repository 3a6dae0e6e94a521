-- Every metric the metrics mart has a column for: the rows of the metrics_registry seed, plus
-- each metric that has values but no registry row, which gets a column named after it, the
-- var `metric_default_aggregation` and no threshold. A metric is text when any of its values
-- is (value_text), else a double.
with

registry as (
    select
        metric,
        column_name,
        aggregation,
        direction,
        threshold,
        description
    from {{ ref('metrics_registry') }}
),

observed_metrics as (
    select
        metric,
        bool_or(value_text is not null) as has_text
    from {{ ref('int_metric_values') }}
    group by metric
)

select
    coalesce(registry.metric, observed_metrics.metric) as metric,
    coalesce(registry.column_name, observed_metrics.metric) as column_name,
    coalesce(
        registry.aggregation, '{{ var("metric_default_aggregation") }}'
    ) as aggregation,
    registry.direction,
    registry.threshold,
    case when coalesce(observed_metrics.has_text, false) then 'varchar' else 'double' end
        as value_type,
    registry.metric is not null as is_registered,
    coalesce(
        registry.description, 'Found in the lake; not described in metrics_registry.'
    ) as description
from registry
full outer join observed_metrics on registry.metric = observed_metrics.metric
