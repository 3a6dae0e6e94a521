{#- `select <columns> from <relation>` for each relation, joined with `union all`.

    `relations` are anything that renders as a relation: `ref()` results or CTE names. The
    column list is explicit so every branch contributes the same columns and nothing extra.
    Callers building the list from a var must keep it non-empty. -#}
{% macro union_all_select(relations, columns) -%}
    {%- if relations | length == 0 -%}
        {{ exceptions.raise_compiler_error("union_all_select needs at least one relation") }}
    {%- endif -%}
    {%- for relation in relations %}
        select {{ columns | join(', ') }} from {{ relation }}
        {%- if not loop.last %}
        union all
        {%- endif %}
    {%- endfor %}
{%- endmacro %}
