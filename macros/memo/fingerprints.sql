{#- Build fingerprints: what a model or test was last built from, so that a rerun skips what
    nothing it reads has changed.

    A node's fingerprint is the md5 of its compiled code and of the fingerprints of what it
    depends on: a seed's file checksum, a source's raw files (path, size, modification time), and
    the fingerprint recorded for an upstream model when it was last built. A model that keeps
    state in the lake names it in `memo_lake_files` (globs under the lake's root), whose listing
    joins its fingerprint; it is recorded after the build, which may have written that state. A table that reads
    beyond the graph (the lake's image files, the embedding checkpoints, a published export) is
    always rebuilt, and records a hash of its content instead, so its dependents still skip when
    its rows come out the same. Fingerprints live in one table, `memo.fingerprints`, in the
    build's database. -#}

{% macro memo_store() -%}
    {{ return(api.Relation.create(database=target.database, schema='memo', identifier='fingerprints')) }}
{%- endmacro %}


{% macro memo_init() -%}
    {#- on-run-start: the fingerprint table, created on the first build of a database. -#}
    create schema if not exists {{ target.database }}.memo;
    create table if not exists {{ memo_store() }} (
        node_id varchar primary key,
        fingerprint varchar not null,
        inputs varchar
    )
{%- endmacro %}


{% macro memo_recorded(node_ids) -%}
    {#- node id -> {fingerprint, inputs} recorded for each of `node_ids` that has a record. -#}
    {%- set recorded = {} -%}
    {%- set store = memo_store() -%}
    {#- `dbt compile` runs no on-run-start: the table may not be there yet. -#}
    {%- if node_ids and adapter.get_relation(store.database, store.schema, store.identifier) -%}
        {%- set literals = [] -%}
        {%- for node_id in node_ids -%}
            {%- do literals.append(dbt.string_literal(node_id)) -%}
        {%- endfor -%}
        {%- set rows = run_query(
            'select node_id, fingerprint, inputs from ' ~ memo_store()
            ~ ' where node_id in (' ~ literals | join(', ') ~ ')'
        ) -%}
        {%- for row in rows -%}
            {%- do recorded.update({row[0]: {'fingerprint': row[1], 'inputs': row[2]}}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(recorded) }}
{%- endmacro %}


{% macro memo_record(node_id, fingerprint, inputs=none) -%}
    {%- call statement('memo_record') -%}
        insert or replace into {{ memo_store() }} values (
            {{ dbt.string_literal(node_id) }},
            {{ dbt.string_literal(fingerprint) }},
            {{ dbt.string_literal(inputs) if inputs is not none else 'null' }}
        )
    {%- endcall -%}
{%- endmacro %}


{% macro memo_forget(node_id) -%}
    {%- call statement('memo_forget') -%}
        delete from {{ memo_store() }} where node_id = {{ dbt.string_literal(node_id) }}
    {%- endcall -%}
{%- endmacro %}


{% macro memo_raw_files(source_node) -%}
    {#- The raw files behind a source (see `memo_file_listing`). -#}
    {%- set raw_glob = source_node.meta.get('raw_glob') -%}
    {{ return(memo_file_listing(raw_glob) if raw_glob else []) }}
{%- endmacro %}


{% macro memo_file_listing(pattern) -%}
    {#- The files matching a glob, as a list of `path|size|modified` strings in path order, paths
        relative to the lake's root; empty when none match. `read_blob` lists them without reading
        them, on a local disk or S3 alike. The pattern needs a wildcard: on S3, `glob` returns a
        plain path as it is, whether or not the object exists. -#}
    {%- set pattern_literal = dbt.string_literal(pattern) -%}
    {%- if run_query('select count(*) from glob(' ~ pattern_literal ~ ')').rows[0][0] == 0 -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set rows = run_query(
        'select ' ~ lake_relative_path('filename') ~ ', size, epoch_us(last_modified)'
        ~ ' from read_blob(' ~ pattern_literal ~ ') order by filename'
    ) -%}
    {%- set files = [] -%}
    {%- for row in rows -%}
        {%- do files.append(row[0] ~ '|' ~ row[1] ~ '|' ~ row[2]) -%}
    {%- endfor -%}
    {{ return(files) }}
{%- endmacro %}


{% macro memo_fingerprint(node, code=none, with_sources=true) -%}
    {#- The fingerprint of `node` as it would be built now (see the top of this file); `code`
        stands in for its compiled code, and `with_sources=false` leaves its raw files out. -#}
    {%- set depends_on = node.depends_on.nodes | sort -%}
    {%- set upstream_models = [] -%}
    {%- for dependency in depends_on if not dependency.startswith(('seed.', 'source.')) -%}
        {%- do upstream_models.append(dependency) -%}
    {%- endfor -%}
    {%- set recorded = memo_recorded(upstream_models) -%}
    {%- set parts = [code if code is not none else node.compiled_code] -%}
    {%- for dependency in depends_on -%}
        {%- if dependency.startswith('seed.') -%}
            {%- do parts.append(dependency ~ '=' ~ graph.nodes[dependency].checksum.checksum) -%}
        {%- elif dependency.startswith('source.') -%}
            {%- if with_sources -%}
            {%- do parts.append(dependency ~ '=' ~ memo_raw_files(graph.sources[dependency]) | join(',')) -%}
            {%- endif -%}
        {%- elif dependency in recorded -%}
            {%- do parts.append(dependency ~ '=' ~ recorded[dependency].fingerprint) -%}
        {%- else -%}
            {#- Never recorded (built before fingerprints, or failed): nothing can match. -#}
            {%- do parts.append(dependency ~ '=unknown:' ~ invocation_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- Lake objects the model reads besides its inputs (its own persisted state). -#}
    {%- for pattern in node.config.get('memo_lake_files', []) -%}
        {%- do parts.append(pattern ~ '=' ~ memo_file_listing(lake_root() ~ pattern) | join(',')) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}


{% macro memo_content_fingerprint(relation, columns=none) -%}
    {#- A hash of a table's rows (of `columns` alone, when given), independent of their order. -#}
    {%- set hashed = columns | join(', ') if columns else 'content' -%}
    {%- set row = run_query(
        'select count(*), coalesce(sum(hash(' ~ hashed ~ ')), 0) from ' ~ relation ~ ' as content'
    ).rows[0] -%}
    {{ return('content:' ~ row[0] ~ ':' ~ row[1]) }}
{%- endmacro %}


{% macro memo_record_build() -%}
    {#- A post-hook on every model: records what it was built from. A table built by the plain
        `table` materialization (it reads beyond the graph) records a hash of its rows. -#}
    {%- if execute -%}
        {%- set materialized = config.get('materialized') -%}
        {%- if materialized == 'table' -%}
            {%- set fingerprint = memo_content_fingerprint(this) -%}
        {%- elif materialized == 'view' -%}
            {%- set fingerprint = memo_fingerprint(model) -%}
        {%- else -%}
            {#- memoized_table records its own. -#}
            {{ return('') }}
        {%- endif -%}
        {%- do memo_record(model.unique_id, fingerprint) -%}
    {%- endif -%}
{%- endmacro %}
