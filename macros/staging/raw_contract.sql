{#- The raw input contract of a source table, enforced against the files in the lake.

    The contract is declared once, as the source's columns in `_<source>__sources.yml`: every
    column has a `data_type`, required ones carry `meta: {required: true}`, and text dates carry
    `meta: {timestamp_formats: [...]}`. The table's meta names the file glob (`raw_glob`), the post
    id column (`unique_key`), the zone of dates without an offset (`time_zone`), optionally the
    column that orders versions of one post (`newest_first_by`), and whether a row is one image
    (`one_image_per_row`, default true). `meta.external_location` reads the glob with
    `union_by_name`, the file name (`raw_file`) and the row's position in its file
    (`file_row_number`); that is what `source()` renders to.

    A contract violation (no file, a file without a required column) fails the build. A bad value
    in one row does not: the row is left out of the staged rows and listed by
    `raw_contract_rejections`, and every other row is staged.

    A staging model materialized as a `memoized_table` with `memo_raw_files` reads the files its
    plan lists (`memo_raw_file_plan`): only those added since its last build when files were only
    added, else every file listed, never the glob. -#}

{% macro raw_contract_select(relation) -%}
    {#- The staged raw rows: the source's declared columns, in declared order, typed (see
        `raw_contract_typed_rows`), then `raw_file` and `file_row_number`, without the rows
        holding a bad value, and one row per post id (the newest, see `raw_contract_newest_first`).
        When the model only needs the raw files added since its last build, only those are read. -#}
    {%- set table = raw_contract_table(relation) -%}
    {%- if table is none -%}
        {#- Parsing: the graph is not built yet and nothing is executed. -#}
        select * from {{ relation }}
    {%- else -%}
        {%- set files = none -%}
        {%- if config.get('memo_raw_files') -%}
            {%- set plan = memo_raw_file_plan(model) -%}
            {%- set files = plan.read if plan.mode != 'skip' else none -%}
            {{ memo_plan_comment(plan) }}
        {%- endif %}
        with typed_rows as (
            {{ raw_contract_typed_rows(relation, table, files) }}
        )

        select
        {%- for column in table.columns.values() %}
            {{ adapter.quote(column.name) }},
        {%- endfor %}
            raw_file,
            file_row_number
        from typed_rows
        where bad_values is null
        qualify row_number() over (
            partition by {{ raw_contract_unique_key(table) }}
            order by {{ raw_contract_newest_first(table) }}
        ) = 1
    {%- endif -%}
{%- endmacro %}


{% macro raw_contract_rejections(relation) -%}
    {#- The raw rows `raw_contract_select` leaves out, one row each, in the shape of `rejections`
        (image_key, source, stage `staging`, reason, detail) plus post_id, raw_file and
        file_row_number. Reason `bad_value`: the detail lists each bad column with its raw value
        (truncated), then the file and the row. Reason `duplicate_post`: a row whose post id a newer
        row also has; the detail names the id, the file and row, and the row kept. The image key is
        `<source>:<post id>` when a row is one image, else NULL (a pixiv work: the detail says
        which). -#}
    {%- set table = raw_contract_table(relation) -%}
    {%- if table is none -%}
        select * from {{ relation }}
    {%- else -%}
        {%- set post_id = raw_contract_unique_key(table) -%}
        with typed_rows as (
            {{ raw_contract_typed_rows(relation, table) }}
        ),

        bad_rows as (
            select
                {{ post_id }} as post_id,
                raw_file,
                file_row_number,
                'bad_value' as reason,
                bad_values || ' (' || raw_file || ', row ' || file_row_number || ')' as detail
            from typed_rows
            where bad_values is not null
        ),

        duplicate_rows as (
            select
                {{ post_id }} as post_id,
                raw_file,
                file_row_number,
                'duplicate_post' as reason,
                'id ' || {{ post_id }} || ' (' || raw_file || ', row ' || file_row_number
                || '); kept ' || first_value(raw_file) over newest_first
                || ', row ' || first_value(file_row_number) over newest_first as detail
            from typed_rows
            where bad_values is null
            window newest_first as (
                partition by {{ post_id }} order by {{ raw_contract_newest_first(table) }}
            )
            qualify row_number() over newest_first > 1
        ),

        rejected_rows as (
            select * from bad_rows
            union all
            select * from duplicate_rows
        )

        select
            {% if table.meta.get('one_image_per_row', true) -%}
                '{{ table.source_name }}:' || post_id
            {%- else -%}
                null
            {%- endif %} as image_key,
            '{{ table.source_name }}' as source,
            'staging' as stage,
            reason,
            detail,
            post_id,
            raw_file,
            file_row_number
        from rejected_rows
    {%- endif -%}
{%- endmacro %}


{% macro raw_contract_typed_rows(relation, table, files=none) -%}
    {#- Every raw row: the declared columns typed, `raw_file`, `file_row_number`, and `bad_values`,
        NULL when the row is good, else `<column>: '<raw value>'` for each bad column.

        Before that, the files behind the source are inspected (see `raw_contract_columns_found`):
        a required column missing from any file fails the build; an optional column missing from
        every file becomes a typed NULL; one missing from some files is NULL for their rows. Columns
        the contract does not declare are never selected.

        A value is bad when it is there but does not convert: a number or flag that `try_cast`
        refuses (text in a numeric column, an overflow), a date in none of the column's
        `timestamp_formats`. A NULL in a required column is bad too. Text converts always, and a
        nested column (list, struct) whose type does not fit fails the build.

        `files` (paths) reads those files instead of every file of the source. -#}
    {%- set found = raw_contract_columns_found(table, files) -%}
    {%- set checked = [] -%}
    with parsed_rows as (
        select
        {%- for column in table.columns.values() %}
            {%- set name = adapter.quote(column.name) %}
            {%- if found is none or column.name | lower in found %}
            {{ raw_value_typed(column, table) }} as {{ name }},
            {%- if raw_value_can_be_bad(column) %}
            {%- do checked.append(column) %}
            {{ name }} as {{ adapter.quote(column.name ~ '__raw') }},
            {%- endif %}
            {%- else %}
            cast(null as {{ raw_value_type(column) }}) as {{ name }},
            {%- endif %}
        {%- endfor %}
            {{ lake_relative_path('raw_file') }} as raw_file,
            file_row_number
        from {{ relation if files is none else raw_contract_read(table, files) }}
    )

    select
    {%- for column in table.columns.values() %}
        {{ adapter.quote(column.name) }},
    {%- endfor %}
        raw_file,
        file_row_number,
    {%- if checked %}
        case
            when
            {%- for column in checked %}
                {{ raw_value_is_bad(column) }}{{ " or" if not loop.last }}
            {%- endfor %}
                then concat_ws(
                    ', '
                {%- for column in checked %},
                    case
                        when {{ raw_value_is_bad(column) }}
                            then '{{ column.name }}: ' || {{ raw_value_shown(column) }}
                    end
                {%- endfor %}
                )
        end as bad_values
    {%- else %}
        cast(null as varchar) as bad_values
    {%- endif %}
    from parsed_rows
{%- endmacro %}


{% macro raw_contract_unique_key(table) -%}
    {#- The quoted post id column of a source table (its `meta.unique_key`). -#}
    {%- if not table.meta.get('unique_key') -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ table.source_name ~ ": table " ~ table.name ~ " has no meta.unique_key"
        ) }}
    {%- endif -%}
    {{ adapter.quote(table.meta['unique_key']) }}
{%- endmacro %}


{% macro raw_contract_newest_first(table) -%}
    {#- The order that puts the row kept among rows of one post id first: the latest
        `meta.newest_first_by` value when the table names such a column, then the last file in
        path order, then the last row in that file (a crawler appends what it fetched later). -#}
    {%- set newest_first_by = table.meta.get('newest_first_by') -%}
    {%- if newest_first_by -%}
        {{ adapter.quote(newest_first_by) }} desc nulls last,
    {% endif -%}
    raw_file desc, file_row_number desc
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


{% macro lake_root() -%}
    {#- The lake's root (DATAPROC_LAKE: a directory or s3://bucket/prefix), ending in `/`. -#}
    {{ return(env_var('DATAPROC_LAKE', 'lake').rstrip('/') ~ '/') }}
{%- endmacro %}


{% macro lake_relative_path(path) -%}
    {#- A file's path relative to the lake's root, so that staged rows, rejections and reports
        name a raw file the same wherever the lake lives. -#}
    case
        when starts_with({{ path }}, {{ dbt.string_literal(lake_root()) }})
            then substr({{ path }}, {{ lake_root() | length + 1 }})
        else {{ path }}
    end
{%- endmacro %}


{% macro raw_contract_read(table, files) -%}
    {#- The source's `external_location` read over the given files instead of its glob. -#}
    {{ table.meta.external_location | replace("'{raw_glob}'", raw_contract_files_literal(files)) }}
{%- endmacro %}


{% macro raw_contract_files_literal(files) -%}
    {#- A SQL list of file paths, for the `read_parquet` family. -#}
    [{% for file in files %}{{ dbt.string_literal(file) }}{{ ", " if not loop.last }}{% endfor %}]
{%- endmacro %}


{% macro raw_contract_columns_found(table, files=none) -%}
    {#- The lowercased names of the declared columns that at least one file has.

        Fails when no file matches the glob, or when any file lacks a required column; the message
        names the source, the file and the column. `files` (paths) looks at those files only. Returns none without looking at the lake when the
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

    {%- set files_literal = dbt.string_literal(raw_glob) if files is none
        else raw_contract_files_literal(files) -%}
    {%- set file_count_sql -%}
        select count(*) as file_count from glob({{ dbt.string_literal(raw_glob) }})
    {%- endset -%}
    {%- if run_query(file_count_sql).columns[0].values()[0] == 0 -%}
        {%- set others = var('enabled_sources') | reject('equalto', source_name) | list -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ source_name ~ ": no raw files match '" ~ raw_glob ~ "'. To build without "
            ~ source_name ~ ", leave it out of the `enabled_sources` var: --vars '{enabled_sources: ["
            ~ others | join(', ') ~ "]}'"
        ) }}
    {%- endif -%}

    {%- set sample_size = 10 -%}
    {%- set missing = run_query(
        raw_contract_missing_columns_sql(files_literal, table.columns.values(), sample_size)
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


{% macro raw_contract_missing_columns_sql(files_literal, columns, sample_size) -%}
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
        from parquet_schema({{ files_literal }})
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
