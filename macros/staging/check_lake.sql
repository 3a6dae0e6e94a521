{#- The on-run-start check that the lake is there: when the run reads raw files, at least one
    enabled source must have some. A missing or empty lake fails once, naming the lake and what
    to do, before any model runs (each staging model would otherwise fail on its own). A lake
    with raw files for some sources only is left to `raw_contract_columns_found`, which names
    each source without files. Off with the var `raw_contract_check` (linting). -#}
{% macro check_lake() -%}
    {%- if not execute or var('raw_contract_check', true) | string | lower in ['false', '0', 'no'] -%}
        {{ return('') }}
    {%- endif -%}
    {#- Only a run that reads raw files needs them (unit tests, for one, read none). -#}
    {%- set raw_tables = graph.sources.values() | selectattr('meta.raw_glob') | list -%}
    {%- set reads_raw = [] -%}
    {%- for node in graph.nodes.values() if node.unique_id in selected_resources -%}
        {%- for table in raw_tables if table.unique_id in node.depends_on.nodes -%}
            {%- do reads_raw.append(table.unique_id) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not reads_raw -%}
        {{ return('') }}
    {%- endif -%}
    {#- The raw files of every enabled source: none at all means the lake is not there. -#}
    {%- set raw_globs = raw_tables | map(attribute='meta.raw_glob') | unique | list -%}
    {%- set source_names = raw_tables | map(attribute='source_name') | unique | sort -%}
    {%- set count_sql -%}
        select count(*) from glob([
        {%- for raw_glob in raw_globs -%}
            '{{ raw_glob | replace("'", "''") }}'{{ ", " if not loop.last }}
        {%- endfor -%}
        ])
    {%- endset -%}
    {%- if run_query(count_sql).columns[0].values()[0] == 0 -%}
        {%- set lake = env_var('DATAPROC_LAKE', 'lake') -%}
        {{ exceptions.raise_compiler_error(
            "the lake '" ~ lake ~ "' is missing or empty: it has no raw files for "
            ~ source_names | join(', ') ~ " (raw/<source>/*.parquet). "
            ~ "Point DATAPROC_LAKE at the lake's root (a directory or s3://bucket/prefix), "
            ~ "or write the demo lake there with `dataproc demo --lake " ~ lake ~ "`."
        ) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
