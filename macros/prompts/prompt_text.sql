{#- A tag as prompt text: with `prompt.escape_parentheses`, `\`, `(` and `)` escaped with a
    backslash (prompt weighting syntax reads bare parentheses), then `_` becomes a space,
    except in the kaomoji of `prompt.kaomoji`, where the underscore is part of the face (`^_^`). -#}
{% macro prompt_tag(tag) -%}
    case
        when list_contains({{ sql_string_list(prompt_option('kaomoji')) }}, {{ tag }})
            then {{ prompt_escape(tag) }}
        else replace({{ prompt_escape(tag) }}, '_', ' ')
    end
{%- endmacro %}


{#- `\`, `(` and `)` preceded by a backslash, with `prompt.escape_parentheses`; else `text`. -#}
{% macro prompt_escape(text) -%}
    {%- if prompt_option('escape_parentheses') -%}
        regexp_replace({{ text }}, '([\\()])', '\\\1', 'g')
    {%- else -%}
        {{ text }}
    {%- endif -%}
{%- endmacro %}


{#- Every tag of the list expression `tags` as prompt text (prompt_tag); an empty list for
    NULL. -#}
{% macro prompt_tag_list(tags) -%}
    list_transform(coalesce({{ tags }}, []::varchar[]), lambda tag: {{ prompt_tag('tag') }})
{%- endmacro %}


{#- A list of the one value `text`, or an empty list when it is NULL. -#}
{% macro prompt_single(text) -%}
    case when ({{ text }}) is null then []::varchar[] else [{{ text }}] end
{%- endmacro %}


{#- The tags of `sections` (names of columns `<section>_tags` of varchar lists) joined with
    `prompt.separator`; '' for no sections. -#}
{% macro prompt_join(sections) -%}
    {%- if sections | length == 0 -%}
        ''
    {%- else -%}
        array_to_string(
            flatten([{%- for name in sections -%}
                {{ name }}_tags{{ ', ' if not loop.last }}
            {%- endfor -%}]),
            '{{ prompt_option("separator") | replace("'", "''") }}'
        )
    {%- endif -%}
{%- endmacro %}
