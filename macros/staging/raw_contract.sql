{#- The raw input contract of a source table, enforced against the files in the lake.

    The contract is declared once, as the source's columns in `_<source>__sources.yml`: every
    column has a `data_type`, and required ones carry `meta: {required: true}`. The file glob is the
    table's `meta.raw_glob`; `meta.external_location` reads it with `union_by_name`, which is what
    `source()` renders to. -#}

{% macro raw_contract_select(relation) -%}
    {#- A select of the source's declared columns, in declared order, cast to their declared types.

        Before that, the files behind the source are inspected (see `raw_contract_columns_found`):
        a required column missing from any file fails the build; an optional column missing from
        every file becomes a typed NULL; one missing from some files is NULL for their rows. Columns
        the contract does not declare are never selected. -#}
    {%- set table = raw_contract_table(relation) -%}
    {%- if table is none -%}
        {#- Parsing: the graph is not built yet and nothing is executed. -#}
        select * from {{ relation }}
    {%- else -%}
        {%- set found = raw_contract_columns_found(table) -%}
        select
        {%- for column in table.columns.values() %}
            {% if found is none or column.name | lower in found -%}
                cast({{ adapter.quote(column.name) }} as {{ column.data_type }})
            {%- else -%}
                cast(null as {{ column.data_type }})
            {%- endif %} as {{ adapter.quote(column.name) }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ relation }}
    {%- endif -%}
{%- endmacro %}


{% macro raw_contract_table(relation) -%}
    {#- The source node that `relation` (a `source()` result) was made from, or none while parsing. -#}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for table in graph.sources.values() -%}
        {%- if table.schema == relation.schema and table.identifier == relation.identifier -%}
            {{ return(table) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "raw contract: no source declares " ~ relation.schema ~ "." ~ relation.identifier
    ) }}
{%- endmacro %}


{% macro raw_contract_columns_found(table) -%}
    {#- The lowercased names of the declared columns that at least one file has.

        Fails when no file matches the glob, or when any file lacks a required column; the message
        names the source, the file and the column. Returns none without looking at the lake when the
        var `raw_contract_check` is false (linting templates the models without a lake). -#}
    {%- if var('raw_contract_check', true) | string | lower in ['false', '0', 'no'] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set source_name = table.source_name -%}
    {%- set raw_glob = table.meta.get('raw_glob') -%}
    {%- if not raw_glob -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ source_name ~ ": table " ~ table.name ~ " has no meta.raw_glob"
        ) }}
    {%- endif -%}

    {%- set file_count_sql -%}
        select count(*) as file_count from glob('{{ raw_glob | replace("'", "''") }}')
    {%- endset -%}
    {%- if run_query(file_count_sql).columns[0].values()[0] == 0 -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ source_name ~ ": no raw files match '" ~ raw_glob ~ "'"
        ) }}
    {%- endif -%}

    {%- set sample_size = 10 -%}
    {%- set missing = run_query(
        raw_contract_missing_columns_sql(raw_glob, table.columns.values(), sample_size)
    ) -%}
    {%- set errors = [] -%}
    {%- set found = [] -%}
    {%- for row in missing.rows -%}
        {%- set column = table.columns[row['declared_name']] -%}
        {%- if row['missing_count'] < row['file_count'] -%}
            {%- do found.append(column.name | lower) -%}
        {%- endif -%}
        {%- if row['missing_count'] > 0 and column.meta.get('required', false) -%}
            {%- for file_name in row['missing_sample'].split('\n') -%}
                {%- do errors.append(
                    "source " ~ source_name ~ ": file " ~ file_name
                    ~ " is missing required column '" ~ column.name ~ "'"
                ) -%}
            {%- endfor -%}
            {%- if row['missing_count'] > sample_size -%}
                {%- do errors.append(
                    "source " ~ source_name ~ ": " ~ (row['missing_count'] - sample_size)
                    ~ " more files are missing required column '" ~ column.name ~ "'"
                ) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if errors -%}
        {{ exceptions.raise_compiler_error(errors | join('\n')) }}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}


{% macro raw_contract_missing_columns_sql(raw_glob, columns, sample_size) -%}
    {#- One row per declared column: how many files lack it at top level, out of how many, and the
        first `sample_size` of those files (newline-separated, sorted).

        `parquet_schema` lists every schema node, nested fields included, in depth-first order
        (`column_id`). Walking that order with the number of descendants still pending separates
        top-level columns from nested fields of the same name (pixiv's `user.id` is not `id`). -#}
    with recursive
    schema_nodes as (
        select
            file_name,
            column_id,
            lower(name) as column_name,
            coalesce(num_children, 0) as num_children
        from parquet_schema('{{ raw_glob | replace("'", "''") }}')
    ),

    schema_walk as (
        select
            file_name,
            column_id,
            column_name,
            num_children as pending_descendants,
            true as is_top_level
        from schema_nodes
        where column_id = 1
        union all
        select
            schema_nodes.file_name,
            schema_nodes.column_id,
            schema_nodes.column_name,
            case
                when schema_walk.pending_descendants = 0 then schema_nodes.num_children
                else schema_walk.pending_descendants - 1 + schema_nodes.num_children
            end as pending_descendants,
            schema_walk.pending_descendants = 0 as is_top_level
        from schema_walk
        inner join schema_nodes
            on
                schema_walk.file_name = schema_nodes.file_name
                and schema_walk.column_id + 1 = schema_nodes.column_id
    ),

    top_level_columns as (
        select distinct
            file_name,
            column_name
        from schema_walk
        where is_top_level
    ),

    raw_files as (
        select distinct file_name from schema_nodes
    ),

    declared_columns (declared_name) as (
        values
        {%- for column in columns %}
            ('{{ column.name }}'){{ "," if not loop.last }}
        {%- endfor %}
    ),

    missing_columns as (
        select
            declared_columns.declared_name,
            raw_files.file_name
        from declared_columns
        cross join raw_files
        anti join top_level_columns
            on
                raw_files.file_name = top_level_columns.file_name
                and lower(declared_columns.declared_name) = top_level_columns.column_name
    )

    select
        declared_columns.declared_name,
        count(missing_columns.file_name) as missing_count,
        (select count(*) from raw_files) as file_count,
        array_to_string(
            list(missing_columns.file_name order by missing_columns.file_name)
                filter (where missing_columns.file_name is not null)[1:{{ sample_size }}],
            chr(10)
        ) as missing_sample
    from declared_columns
    left join missing_columns
        on declared_columns.declared_name = missing_columns.declared_name
    group by declared_columns.declared_name
{%- endmacro %}
