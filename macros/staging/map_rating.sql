{% macro map_rating(source_name, raw_rating) -%}
    {#- The shared rating (general/sensitive/questionable/explicit) of a site's raw rating value,
        looked up in the `rating_map` seed. The raw value is trimmed and lowercased first; a value
        the seed does not list gives NULL. -#}
    {#- One uncorrelated lookup: a correlated subquery would make DuckDB copy every row of the
        query around it into a delim join. -#}
    (
        select map(list(rating_map.raw_rating), list(rating_map.rating))
        from {{ ref('rating_map') }} as rating_map
        where rating_map.source = '{{ source_name }}'
    )[lower(trim(cast({{ raw_rating }} as varchar)))]
{%- endmacro %}
