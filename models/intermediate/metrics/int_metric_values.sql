-- Every metric value of every image key: the lake's metric files (int_lake_metrics) and the
-- models listed in the var `metric_models`, each yielding image_key, metric, value (a double)
-- and value_text (for text metrics such as a file format). One row per (image_key, metric):
-- two inputs that measure the same metric of the same key fail the uniqueness test.
{%- set metric_relations = ['lake_metric_values'] %}
{%- for model_name in var('metric_models') %}
    {%- do metric_relations.append(ref(model_name)) %}
{%- endfor %}

with

lake_metric_values as (
    select
        image_key,
        metric,
        value,
        null::varchar as value_text
    from {{ ref('int_lake_metrics') }}
),

metric_values as (
    {{ union_all_select(metric_relations, ['image_key', 'metric', 'value', 'value_text']) }}
)

select
    image_key,
    metric,
    value,
    value_text
from metric_values
where value is not null or value_text is not null
