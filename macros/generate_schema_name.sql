{#- Layers get plain schema names (staging, intermediate, marts, seeds) so ad hoc
    queries read `staging.stg_danbooru__posts` rather than `main_staging...`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
