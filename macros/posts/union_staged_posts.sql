{#- The names of the columns every staging posts model yields first, in order (from the
    staging layer's `shared_post_schema()`). -#}
{% macro posts_shared_columns() -%}
    {%- set names = [] -%}
    {%- for name, data_type in shared_post_schema() -%}
        {%- do names.append(name) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}


{#- `ref('stg_<source>__posts')` for every source in `var('enabled_sources')`. -#}
{% macro staged_posts_relations() -%}
    {%- set relations = [] -%}
    {%- for source_name in var('enabled_sources') -%}
        {%- do relations.append(ref('stg_' ~ source_name ~ '__posts')) -%}
    {%- endfor -%}
    {{ return(relations) }}
{%- endmacro %}


{#- The shared columns of every enabled source's staging model, unioned. Adding a source to
    `enabled_sources` (and its staging model) is all it takes to include it. -#}
{% macro union_staged_posts() -%}
    {{ union_all_select(staged_posts_relations(), posts_shared_columns()) }}
{%- endmacro %}
