{#- `memoized_table`: a table rebuilt only when something it reads has changed, and the data
    tests that skip the same way. See fingerprints.sql for what a fingerprint covers. -#}

{% materialization memoized_table, adapter='duckdb', supported_languages=['sql', 'python'] %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- if config.get('memo_raw_files') -%}
        {%- set plan = memo_compiled_plan(model) -%}
    {%- else -%}
        {%- set fingerprint = memo_fingerprint(model) -%}
        {%- set recorded = memo_recorded([model.unique_id]).get(model.unique_id) -%}
        {%- set unchanged = existing_relation is not none and not should_full_refresh()
            and recorded is not none and recorded.fingerprint == fingerprint -%}
        {%- set plan = {'mode': 'skip' if unchanged else 'full', 'fingerprint': fingerprint} -%}
        {%- if not unchanged and config.get('memo_images') -%}
            {%- do plan.update(memo_image_plan(model, existing_relation)) -%}
        {%- endif -%}
    {%- endif -%}

    {%- if plan.mode == 'skip' -%}
        {{ log(this ~ ": nothing it reads has changed, kept as built", info=true) }}
        {%- call statement('main') -%} select 1 {%- endcall -%}
        {{ return({'relations': [target_relation]}) }}
    {%- endif -%}

    {#- Until this build succeeds, a half-built table must not look current. -#}
    {%- do memo_forget(model.unique_id) -%}
    {%- do adapter.commit() -%}
    {%- if plan.mode == 'append' -%}
        {%- set relations = memo_append_new_rows(
            target_relation, plan.unique_key, plan.newest_first, plan.read
        ) -%}
    {%- elif plan.mode == 'images' -%}
        {%- set relations = memo_rebuild_changed_images(target_relation) -%}
    {%- elif model.language == 'python' -%}
        {#- dbt submits a Python model only from a materialization's own `statement` call, so
            this one builds it here: into a new table, then swapped in. -#}
        {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
        {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
        {#- Only hooks outside the transaction: the model's table is created on another cursor,
            which a transaction opened before it would not see. -#}
        {{ run_hooks(pre_hooks, inside_transaction=False) }}
        {%- call statement('main', language='python') -%}
            {{- create_table_as(False, intermediate_relation, compiled_code, 'python') }}
        {%- endcall -%}
        {{ drop_relation_if_exists(existing_relation) }}
        {{ adapter.rename_relation(intermediate_relation, target_relation) }}
        {% do persist_docs(target_relation, model) %}
        {%- set relations = {'relations': [target_relation]} -%}
    {%- elif config.get('memo_images') -%}
        {%- set relations = memo_build_in_image_batches(target_relation) -%}
    {%- else -%}
        {%- set relations = materialization_table_duckdb() -%}
    {%- endif -%}
    {%- set fingerprint = memo_fingerprint(model) if model.config.get('memo_lake_files')
        else plan.fingerprint -%}
    {%- do memo_record(model.unique_id, fingerprint, plan.get('inputs')) -%}
    {%- do adapter.commit() -%}
    {%- if model.language == 'python' -%}
        {{ run_hooks(post_hooks, inside_transaction=False) }}
    {%- endif -%}
    {{ return(relations) }}
{% endmaterialization %}


{% macro memo_append_new_rows(target_relation, unique_key, newest_first, added_files) -%}
    {#- Merges the model's rows (those of the new raw files) into the table: for every key they
        hold, the newest rows among the table's and theirs, by `newest_first` (all rows sharing
        the newest order key stay: the pages of one pixiv work). -#}
    {%- set new_rows = make_temp_relation(target_relation, '__memo_new') -%}
    {{ log(
        target_relation ~ ": staging only the " ~ added_files | length
        ~ " raw file(s) added since its last build", info=true
    ) }}
    {{ run_hooks(pre_hooks) }}
    {%- call statement('main') -%}
        create or replace temporary table {{ new_rows.identifier }} as (
            {{ model.compiled_code }}
        );

        create or replace temporary table {{ new_rows.identifier }}__kept as (
            with candidate_rows as (
                select * from {{ new_rows.identifier }}
                union all by name
                select * from {{ target_relation }}
                where {{ unique_key }} in (select {{ unique_key }} from {{ new_rows.identifier }})
            )

            select * from candidate_rows
            qualify dense_rank() over (partition by {{ unique_key }} order by {{ newest_first }}) = 1
        );

        delete from {{ target_relation }}
        where {{ unique_key }} in (select {{ unique_key }} from {{ new_rows.identifier }});

        insert into {{ target_relation }} by name select * from {{ new_rows.identifier }}__kept;

        drop table {{ new_rows.identifier }};
        drop table {{ new_rows.identifier }}__kept
    {%- endcall -%}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmacro %}


{% macro memo_raw_file_plan(node) -%}
    {#- How a staging model over one source's raw files is brought up to date:
        - `skip`: the same files (path, size, modification time) as at its last build;
        - `append`: files were only added: stage those (`read`), and merge them in by the model's
          `unique_key` (the staged post id) and the source's newest-first rule (see
          `raw_contract_newest_first`);
        - `full`: anything else (a file changed or went away, the model's code or a seed it reads
          changed, no table yet, --full-refresh).
        `full` reads every file listed (`read`), never the glob, so what is recorded is what was
        read. The fingerprint covers the model's definition and every file. -#}
    {%- set sources = [] -%}
    {%- for dependency in node.depends_on.nodes if dependency.startswith('source.') -%}
        {%- do sources.append(graph.sources[dependency]) -%}
    {%- endfor -%}
    {%- if sources | length != 1 -%}
        {{ exceptions.raise_compiler_error(
            node.unique_id ~ ": memo_raw_files needs exactly one source, not " ~ sources | length
        ) }}
    {%- endif -%}
    {%- set table = sources[0] -%}
    {%- set files = memo_raw_files(table) -%}
    {%- set definition = memo_fingerprint(node, code=node.raw_code, with_sources=false) -%}
    {%- set inputs = {'definition': definition, 'files': files} -%}
    {%- set plan = {
        'mode': 'full',
        'fingerprint': local_md5(definition ~ '\n' ~ files | join('\n')),
        'inputs': tojson(inputs),
        'unique_key': node.config.get('unique_key') or exceptions.raise_compiler_error(
            node.unique_id ~ ": memo_raw_files needs the staged post id column as unique_key"
        ),
        'newest_first': raw_contract_newest_first(table),
        'read': [],
    } -%}
    {%- for file in files -%}
        {%- do plan.read.append(lake_root() ~ file.split('|')[0]) -%}
    {%- endfor -%}
    {%- set recorded = memo_recorded([node.unique_id]).get(node.unique_id) -%}
    {%- if recorded is none or recorded.inputs is none or should_full_refresh()
        or load_relation(this) is none -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set previous = fromjson(recorded.inputs) -%}
    {%- if previous.definition != definition -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- if previous.files == files -%}
        {%- do plan.update({'mode': 'skip', 'read': []}) -%}
    {%- elif previous.files | reject('in', files) | list | length == 0 -%}
        {%- set added = [] -%}
        {%- for file in files if file not in previous.files -%}
            {%- do added.append(lake_root() ~ file.split('|')[0]) -%}
        {%- endfor -%}
        {%- do plan.update({'mode': 'append', 'read': added}) -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}


{% macro memo_plan_comment(plan) -%}
    {#- The plan a staging model's SQL was compiled from, as a comment in that SQL: the
        materialization carries out this plan, not one made later, so a raw file that lands
        between the two is neither half-staged nor recorded unread. -#}
    {%- set plan_json = tojson(plan) -%}
    {%- if '*/' in plan_json -%}
        {{ exceptions.raise_compiler_error("memo: a raw file path holds '*/': " ~ plan_json) }}
    {%- endif -%}
    /* memo plan: {{ plan_json }} */
{%- endmacro %}


{% macro memo_compiled_plan(node) -%}
    {#- The plan `memo_plan_comment` wrote into the node's compiled SQL. -#}
    {%- set found = modules.re.search('/\\* memo plan: (.*?) \\*/', node.compiled_code) -%}
    {%- if found is none -%}
        {{ exceptions.raise_compiler_error(
            node.unique_id ~ ": memo_raw_files needs its SQL to read the source through "
            ~ "raw_contract_select, which writes the plan it was compiled from"
        ) }}
    {%- endif -%}
    {{ return(fromjson(found.group(1))) }}
{%- endmacro %}


{% materialization test, adapter='duckdb' %}
    {#- A data test passes without running when nothing it reads has changed since it last
        passed. A failing or warning test is never remembered, so it runs (and fails) again. -#}
    {%- set fingerprint = memo_fingerprint(model) -%}
    {%- set recorded = memo_recorded([model.unique_id]).get(model.unique_id) -%}
    {%- if recorded is not none and recorded.fingerprint == fingerprint
        and not should_store_failures() and not flags.FULL_REFRESH -%}
        {{ log(model.name ~ ": nothing it reads has changed since it passed", info=false) }}
        {%- call statement('main', fetch_result=true) -%}
            select 0 as failures, false as should_warn, false as should_error
        {%- endcall -%}
        {{ return({'relations': []}) }}
    {%- endif -%}
    {%- set relations = materialization_test_default() -%}
    {%- set outcome = load_result('main').table.rows[0] -%}
    {%- if outcome['failures'] == 0 and not outcome['should_warn'] -%}
        {%- do memo_record(model.unique_id, fingerprint) -%}
    {%- else -%}
        {%- do memo_forget(model.unique_id) -%}
    {%- endif -%}
    {%- do adapter.commit() -%}
    {{ return(relations) }}
{% endmaterialization %}
