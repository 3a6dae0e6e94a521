{#- `image_key, source, account` for every staged post of the sources in the var
    `artist_account_columns` (source -> the staging column naming the uploader) that are also
    enabled. On those sources the uploader is the artist. With none, an empty select of the same
    shape. -#}
{% macro artist_account_posts() -%}
    {%- set account_columns = var('artist_account_columns') -%}
    {%- set sources = [] -%}
    {%- for source_name in var('enabled_sources') if source_name in account_columns -%}
        {%- do sources.append(source_name) -%}
    {%- endfor -%}
    {%- for source_name in sources %}
    select
        image_key,
        source,
        cast({{ account_columns[source_name] }} as varchar) as account
    from {{ ref('stg_' ~ source_name ~ '__posts') }}
    where {{ account_columns[source_name] }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        null::varchar as image_key,
        null::varchar as source,
        null::varchar as account
    where false
    {%- endfor %}
{%- endmacro %}
