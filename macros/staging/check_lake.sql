{#- The on-run-start check that the lake is there: when the run reads raw files, at least one
    enabled source must have some. A missing or empty lake fails once, naming the lake and what
    to do, before any model runs (each staging model would otherwise fail on its own). A lake
    with raw files for some sources only is left to `raw_contract_columns_found`, which names
    each source without files. Off with the var `raw_contract_check` (linting). -#}
{% macro check_lake() -%}
    {%- if not execute or var('raw_contract_check', true) | string | lower in ['false', '0', 'no'] -%}
        {{ return('') }}
    {%- endif -%}
    {#- The raw files of the sources the selected models read. -#}
    {%- set raw_globs = [] -%}
    {%- set source_names = [] -%}
    {%- for table in graph.sources.values() if table.meta.get('raw_glob') -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.unique_id in selected_resources
                and table.unique_id in node.depends_on.nodes
                and table.meta['raw_glob'] not in raw_globs -%}
                {%- do raw_globs.append(table.meta['raw_glob']) -%}
                {%- do source_names.append(table.source_name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not raw_globs -%}
        {{ return('') }}
    {%- endif -%}
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
            ~ source_names | unique | sort | join(', ') ~ " (raw/<source>/*.parquet). "
            ~ "Point DATAPROC_LAKE at the lake's root (a directory or s3://bucket/prefix), "
            ~ "or write the demo lake there with `dataproc demo --lake " ~ lake ~ "`."
        ) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
