{#- One raw value of a declared source column: its type, its conversion, and when it is bad.
    `column` is the column's graph entry, `table` its source node (see raw_contract.sql). -#}

{% macro raw_value_type(column) -%}
    {#- The type a declared column has once read: timestamptz for a text date (a column with
        `meta.timestamp_formats`), else its declared `data_type`. -#}
    {{ 'timestamptz' if column.meta.get('timestamp_formats') else column.data_type }}
{%- endmacro %}


{% macro raw_value_is_text_or_nested(column) -%}
    {#- Whether a column's declared type is text, which every value converts to, or nested (a list
        or struct), whose fit is a property of the file rather than of one row. -#}
    {%- set data_type = column.data_type | lower | trim -%}
    {{ return(data_type in ['varchar', 'text', 'string'] or '[' in data_type or '(' in data_type) }}
{%- endmacro %}


{% macro raw_value_can_be_bad(column) -%}
    {#- Whether one row's value of the column can fail to convert, or is required. -#}
    {{ return(
        column.meta.get('timestamp_formats') is not none
        or column.meta.get('required', false)
        or not raw_value_is_text_or_nested(column)
    ) }}
{%- endmacro %}


{% macro raw_value_typed(column, table) -%}
    {#- The column's value converted to `raw_value_type`: a text date parsed by `parse_timestamp`,
        a number or flag by `try_cast` (NULL when it does not convert), text and nested values by
        `cast` (a nested value that does not fit fails the build). -#}
    {%- set raw = adapter.quote(column.name) -%}
    {%- set formats = column.meta.get('timestamp_formats') -%}
    {%- if formats -%}
        {{ parse_timestamp(raw, formats, table.meta.get('time_zone'), table.source_name) }}
    {%- elif raw_value_is_text_or_nested(column) -%}
        cast({{ raw }} as {{ column.data_type }})
    {%- else -%}
        try_cast({{ raw }} as {{ column.data_type }})
    {%- endif -%}
{%- endmacro %}


{% macro raw_value_is_bad(column) -%}
    {#- SQL that is true when a row's value of the column is bad: there but not converted, or NULL
        in a required column. Reads `<column>` (converted) and `<column>__raw` of parsed rows. -#}
    {%- set typed = adapter.quote(column.name) -%}
    {%- set raw = adapter.quote(column.name ~ '__raw') -%}
    {%- if column.meta.get('required', false) -%}
        {{ typed }} is null
    {%- else -%}
        ({{ raw }} is not null and {{ typed }} is null)
    {%- endif -%}
{%- endmacro %}


{% macro raw_value_shown(column, max_length=80) -%}
    {#- The raw value as text for a rejection detail: quoted, cut to `max_length` characters with
        `…` appended when longer; NULL as `NULL`. -#}
    {%- set text = "cast(" ~ adapter.quote(column.name ~ '__raw') ~ " as varchar)" -%}
    case
        when {{ text }} is null then 'NULL'
        else concat(
            '''',
            left({{ text }}, {{ max_length }}),
            case when length({{ text }}) > {{ max_length }} then '…' end,
            ''''
        )
    end
{%- endmacro %}


{% macro parse_timestamp(text, formats, time_zone, source_name) -%}
    {#- A text date as an instant (timestamptz), NULL when it is in none of `formats` (strptime
        formats, tried in order, on the text without surrounding whitespace). A format with `%z`
        reads the offset in the text; the others are read as wall-clock time in `time_zone` (an
        IANA zone), never silently as UTC. -#}
    {%- set with_offset = [] -%}
    {%- set without_offset = [] -%}
    {%- for format in formats -%}
        {%- do (with_offset if '%z' in format else without_offset).append(format) -%}
    {%- endfor -%}
    {%- if without_offset and not time_zone -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ source_name ~ ": date formats without an offset need the table's meta.time_zone"
        ) }}
    {%- endif -%}
    {%- set trimmed = "trim(cast(" ~ text ~ " as varchar))" -%}
    {%- set parsers = [] -%}
    {%- if with_offset -%}
        {%- do parsers.append(
            "try_strptime(" ~ trimmed ~ ", ['" ~ with_offset | join("', '") ~ "'])"
        ) -%}
    {%- endif -%}
    {%- if without_offset -%}
        {%- do parsers.append(
            "timezone('" ~ time_zone ~ "', try_strptime(" ~ trimmed ~ ", ['"
            ~ without_offset | join("', '") ~ "']))"
        ) -%}
    {%- endif -%}
    coalesce({{ parsers | join(', ') }})
{%- endmacro %}
