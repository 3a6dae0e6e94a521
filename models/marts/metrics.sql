-- One row per image (image_id, every image of the `images` mart) with one column per metric
-- of int_metric_definitions (the metrics_registry seed, plus metrics found in the lake without
-- a registry row), holding the image's value combined across its members (int_image_metrics).
-- A metric the image has no value for is NULL. The columns are read from
-- int_metric_definitions when the model is compiled; before that table exists (parsing,
-- linting) only image_id is selected. A metric whose values contradict the registry's scale
-- (int_metric_definitions.scale_warning) is logged as a warning then.
{%- set definitions_ref = ref('int_metric_definitions') %}
{%- set pivot_columns = ['image_id'] %}
{%- set select_columns = ['images.image_id'] %}
{%- if execute %}
    {%- set definitions_relation = load_relation(definitions_ref) %}
    {%- if definitions_relation is not none %}
        {%- set definitions = run_query(
            'select metric, column_name, value_type from ' ~ definitions_relation
            ~ ' order by column_name'
        ) %}
        {%- for row in definitions.rows %}
            {%- set column_name = adapter.quote(row['column_name']) %}
            {%- set value_column = 'value_text' if row['value_type'] == 'varchar' else 'value' %}
            {%- do pivot_columns.append(
                'max(' ~ value_column ~ ") filter (where metric = '"
                ~ row['metric'] ~ "') as " ~ column_name
            ) %}
            {%- do select_columns.append('metric_columns.' ~ column_name) %}
        {%- endfor %}
        {#- A metric whose values contradict its registry scale is a warning, not a failure: the
            values may be right and the registry stale. -#}
        {%- set warnings = run_query(
            'select scale_warning from ' ~ definitions_relation
            ~ ' where scale_warning is not null order by metric'
        ) %}
        {%- for row in warnings.rows %}
            {%- do exceptions.warn(row['scale_warning']) %}
        {%- endfor %}
    {%- endif %}
{%- endif %}

with

images as (
    select image_id
    from {{ ref('images') }}
),

image_metrics as (
    select
        image_id,
        metric,
        value,
        value_text
    from {{ ref('int_image_metrics') }}
),

metric_columns as (
    select
        {{ pivot_columns | join(',\n        ') }}
    from image_metrics
    group by image_id
)

select
    {{ select_columns | join(',\n    ') }}
from images
-- Without a built int_metric_definitions (linting) no metric column is selected from it.
left join metric_columns on images.image_id = metric_columns.image_id  -- noqa: ST11
