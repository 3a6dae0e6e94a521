-- How many raw rows each source has: the funnel's first step, so that a raw row that is neither
-- staged nor rejected shows. Counting reads only the files' footers.
{% for source_name in var('enabled_sources') -%}
    select
        '{{ source_name }}' as source,  -- noqa: RF04
        count(*) as raw_rows
    from {{ source(source_name, 'posts') }}
    {{ "union all" if not loop.last }}
{% endfor %}
