{% macro vector_memory_limit() -%}
    {#- A pre-hook of the models that stream every embedding through DuckDB: with the profile's
        limit the buffer pool keeps the blocks of the whole vector table resident (GBs at 1M
        vectors); a small one writes and reads them through. The limit is the database's, so
        models running meanwhile spill sooner until `profile_memory_limit` restores it. -#}
    {%- if var('vector_memory_limit') -%}
        set memory_limit = '{{ var("vector_memory_limit") }}'
    {%- endif -%}
{%- endmacro %}


{% macro profile_memory_limit() -%}
    {#- The post-hook that undoes `vector_memory_limit`: the profile's limit, or DuckDB's
        default when the profile sets none. -#}
    {%- if var('vector_memory_limit') -%}
        {%- set configured = (target.get('settings') or {}).get('memory_limit') -%}
        {%- if configured -%}
            set memory_limit = '{{ configured }}'
        {%- else -%}
            reset memory_limit
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
