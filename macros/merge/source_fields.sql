{#- Every enabled source's staging fields side by side, prefixed `<source>__`.

    The columns come from the staging models themselves (`adapter.get_columns_in_relation`), so
    a new source or a new staging column appears in the mart without an edit here. `source` is
    left out (it is the prefix). Each source's fields come from one post: the image's
    representative for that source (`int_image_members.is_representative`); an image with no
    post from a source has NULLs in that source's columns.

    Use them together: `source_representative_key_columns()` in the aggregation that pivots
    representatives to one row per image (from a relation with image_id, source, image_key;
    int_merged_images stores the keys), then, in the images view, `source_field_joins(keys)`
    after the FROM that has those keys, and `source_field_select_list()` right after the last
    fixed column of its select list. -#}

{#- `<source>_post` : the alias each source's staging relation is joined under. -#}
{% macro source_post_alias(source_name) -%}
    {{ source_name ~ '_post' }}
{%- endmacro %}


{#- `<source>__representative_key`, one per enabled source: the columns that hold each source's
    representative image key. -#}
{% macro source_representative_key_names() -%}
    {%- set names = [] -%}
    {%- for source_name in var('enabled_sources') -%}
        {%- do names.append(source_name ~ '__representative_key') -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}


{#- `max(image_key) filter (where source = '<source>') as <source>__image_key`, one per source,
    for a `group by image_number` (or image_id) over representatives. -#}
{% macro source_representative_key_columns() -%}
    {%- set columns = [] -%}
    {%- for source_name in var('enabled_sources') -%}
        {%- do columns.append(
            "max(image_key) filter (where source = '" ~ source_name ~ "') as "
            ~ source_name ~ "__representative_key"
        ) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}


{#- `left join stg_<source>__posts as <source>_post on ...` for every source, the relation named
    without its database (the images view must resolve under any attach alias). -#}
{% macro source_field_joins(keys) -%}
    {%- for source_name in var('enabled_sources') %}
    left join {{ ref('stg_' ~ source_name ~ '__posts').include(database=False) }}
        as {{ source_post_alias(source_name) }}
        on {{ source_post_alias(source_name) }}.image_key = {{ keys }}.{{ source_name }}__representative_key
    {%- endfor %}
{%- endmacro %}


{#- `<source>_post.<column> as <source>__<column>` for every staging column of every source. -#}
{% macro source_field_columns() -%}
    {%- set columns = [] -%}
    {%- for source_name in var('enabled_sources') -%}
        {%- set relation = ref('stg_' ~ source_name ~ '__posts') -%}
        {%- if execute -%}
            {%- for column in adapter.get_columns_in_relation(relation) -%}
                {%- if column.name != 'source' -%}
                    {%- do columns.append(
                        source_post_alias(source_name) ~ '.' ~ column.name
                        ~ ' as ' ~ source_name ~ '__' ~ column.name
                    ) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}


{#- `, <source>_post.<column> as <source>__<column>` for every source field, one per line, to
    follow the last fixed column of a select list; empty when the staging relations do not exist
    yet (parsing, linting). -#}
{% macro source_field_select_list() -%}
    {%- for column in source_field_columns() -%}
        , {{ column }}
    {% endfor -%}
{%- endmacro %}
