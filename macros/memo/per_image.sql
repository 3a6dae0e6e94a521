{#- Per-image rebuilds: a merge model configured with `memo_images` rebuilds only the images
    whose inputs changed, while nothing else it reads has.

    Every such model is a function of its images: each image's rows depend only on what
    int_image_digests hashes for that image (its members and their posts) and on a few inputs
    shared by all images (a seed, the tag dictionary, the learned aliases). So when its code
    and every shared input are as at its last build, and every per-image model it reads is
    itself in the same state (the same `epoch`), the rows of an image whose digest is unchanged
    are the rows it already has. The model then deletes the rows of the images whose digest
    differs from the copy kept at its last build (`memo.image_digests__<model>`, images that
    came or went included) and inserts its SQL's rows for those images alone: its SQL reads
    per-image inputs through `memo_image_scope`. Anything else rebuilds it whole, and for the
    same reason a whole build can run in batches of images. -#}

{% macro memo_image_scope(column) -%}
    {#- True for the rows of the images being built: those of a per-image rebuild, or of one
        batch of a whole build (`memo_build_in_image_batches`); every image outside both (a
        whole build in one batch, a unit test, the compiled SQL run by hand). DuckDB binds
        getvariable as a constant, so an unset variable folds its condition away. -#}
    (getvariable('memo_image_scope') is null
    or {{ column }} in (select unnest(getvariable('memo_image_scope'))))
    and (getvariable('memo_image_batches') is null
    or {{ column }} % getvariable('memo_image_batches') = getvariable('memo_image_batch'))
{%- endmacro %}


{% macro memo_image_digests_node(node) -%}
    {#- The int_image_digests node that `node` reads (with a `-- depends_on` ref). -#}
    {%- for dependency in node.depends_on.nodes if dependency.split('.')[-1] == 'int_image_digests' -%}
        {{ return(graph.nodes[dependency]) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        node.unique_id ~ ": memo_images needs `-- depends_on: {{ ref('int_image_digests') }}`"
    ) }}
{%- endmacro %}


{% macro memo_node_relation(node) -%}
    {{ return(api.Relation.create(
        database=node.database, schema=node.schema, identifier=node.alias or node.name
    )) }}
{%- endmacro %}


{% macro memo_image_snapshot(node) -%}
    {{ return(api.Relation.create(
        database=target.database, schema='memo', identifier='image_digests__' ~ node.name
    )) }}
{%- endmacro %}


{% macro memo_image_plan(node, existing_relation) -%}
    {#- `images` when the model can rebuild only its changed images (see the top of this file),
        else `full`; with the inputs to record: the tokens of what it reads besides its images
        (its code, seeds, the content of the shared inputs' columns it reads, the epochs of the
        per-image models it reads) and its epoch, their hash. -#}
    {%- set digests = memo_image_digests_node(node) -%}
    {%- set shared = node.config.get('memo_images').get('shared', {}) -%}
    {%- set tokens = {'code': local_md5(node.compiled_code)} -%}
    {%- set per_image = [] -%}
    {%- set unknown = [] -%}
    {%- for dependency in node.depends_on.nodes | sort
        if dependency != digests.unique_id and dependency not in digests.depends_on.nodes -%}
        {%- set upstream = graph.nodes[dependency] -%}
        {%- if dependency.startswith('seed.') -%}
            {%- do tokens.update({dependency: upstream.checksum.checksum}) -%}
        {%- elif upstream.name in shared -%}
            {%- do tokens.update({dependency: memo_content_fingerprint(
                memo_node_relation(upstream), shared[upstream.name]
            )}) -%}
        {%- elif upstream.config.get('memo_images') -%}
            {%- do per_image.append(dependency) -%}
        {%- else -%}
            {%- do unknown.append(dependency) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if unknown -%}
        {{ exceptions.raise_compiler_error(
            node.unique_id ~ ": memo_images: " ~ unknown | join(', ') ~ " is neither read by "
            ~ "int_image_digests, a seed, a `shared` input nor a per-image model"
        ) }}
    {%- endif -%}
    {%- set recorded = memo_recorded(per_image + [node.unique_id]) -%}
    {%- set plan = {'mode': 'full'} -%}
    {%- for dependency in per_image -%}
        {%- set inputs = recorded.get(dependency, {}).get('inputs') -%}
        {%- do tokens.update({dependency: fromjson(inputs).epoch if inputs else 'unknown:' ~ invocation_id}) -%}
    {%- endfor -%}
    {%- set epoch = local_md5(tojson(tokens)) -%}
    {%- do plan.update({'inputs': tojson({'epoch': epoch, 'tokens': tokens})}) -%}
    {%- set previous = recorded.get(node.unique_id, {}).get('inputs') -%}
    {%- set snapshot = memo_image_snapshot(node) -%}
    {%- if previous and existing_relation is not none and not should_full_refresh()
        and fromjson(previous).get('epoch') == epoch
        and adapter.get_relation(snapshot.database, snapshot.schema, snapshot.identifier) -%}
        {%- do plan.update({'mode': 'images'}) -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}


{% macro memo_keep_image_digests(node) -%}
    {#- After a whole build: the image digests it was built from. -#}
    {%- call statement('memo_keep_image_digests') -%}
        create or replace table {{ memo_image_snapshot(node) }} as
        select image_number, image_digest
        from {{ memo_node_relation(memo_image_digests_node(node)) }}
    {%- endcall -%}
{%- endmacro %}


{% macro memo_rebuild_changed_images(target_relation) -%}
    {#- Replaces the rows of the images whose digest changed since the model's last build (or
        that came or went) with its SQL's rows for them, and updates its copy of the digests. -#}
    {%- set key = model.config.get('memo_images').get('key', 'image_number') -%}
    {%- set digests = memo_node_relation(memo_image_digests_node(model)) -%}
    {%- set snapshot = memo_image_snapshot(model) -%}
    {%- call statement('memo_changed_images') -%}
        create or replace temporary table memo_changed_images as
        select coalesce(current_digests.image_number, kept_digests.image_number) as image_number
        from {{ digests }} as current_digests
        full outer join {{ snapshot }} as kept_digests
            on current_digests.image_number = kept_digests.image_number
        where current_digests.image_digest is distinct from kept_digests.image_digest
    {%- endcall -%}
    {%- set counts = run_query(
        'select (select count(*) from memo_changed_images), (select count(*) from ' ~ digests ~ ')'
    ).rows[0] -%}
    {{ log(
        target_relation ~ ": rebuilding only the " ~ counts[0] ~ " of " ~ counts[1]
        ~ " images whose inputs changed", info=true
    ) }}
    {{ run_hooks(pre_hooks) }}
    {%- call statement('main') -%}
        reset variable memo_image_batches;
        set variable memo_image_scope = (
            select coalesce(list(image_number order by image_number), []) from memo_changed_images
        );

        delete from {{ target_relation }}
        where {{ key }} in (select image_number from memo_changed_images);

        {{ memo_insert_model_rows(target_relation) }};

        reset variable memo_image_scope;

        delete from {{ snapshot }}
        where image_number in (select image_number from memo_changed_images);

        insert into {{ snapshot }}
        select image_number, image_digest from {{ digests }}
        where image_number in (select image_number from memo_changed_images);

        drop table memo_changed_images
    {%- endcall -%}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmacro %}


{% macro memo_build_in_image_batches(target_relation) -%}
    {#- A whole build of a per-image model, in batches of about `merge_batch_images` images
        (by image_number modulo the batch count): the table is created from the first batch and
        each further batch is inserted, so the largest aggregate holds one batch's images, not
        all of them. The rows are those of one query over every image, since each image's rows
        depend on its own inputs only (the top of this file). -#}
    {%- set digests = memo_node_relation(memo_image_digests_node(model)) -%}
    {%- set images = run_query('select count(*) from ' ~ digests).rows[0][0] -%}
    {%- set batches = [1, (images / var('merge_batch_images')) | round(0, 'ceil') | int] | max -%}
    {#- Every image, whatever a failed build left set; then the first batch. -#}
    {%- call statement('memo_first_image_batch') -%}
        reset variable memo_image_scope;
        reset variable memo_image_batches;
        {%- if batches > 1 %}
        set variable memo_image_batches = {{ batches }};
        set variable memo_image_batch = 0;
        {%- endif %}
    {%- endcall -%}
    {%- if batches > 1 -%}
        {{ log(
            target_relation ~ ": building its " ~ images ~ " images in " ~ batches ~ " batches",
            info=true
        ) }}
    {%- endif -%}
    {%- set relations = materialization_table_duckdb() -%}
    {%- for batch in range(1, batches) -%}
        {%- call statement('memo_image_batch_' ~ batch) -%}
            set variable memo_image_batch = {{ batch }};

            {{ memo_insert_model_rows(target_relation) }}
        {%- endcall -%}
    {%- endfor -%}
    {%- call statement('memo_image_batches_done') -%}
        reset variable memo_image_batches;
        reset variable memo_image_batch
    {%- endcall -%}
    {%- do memo_keep_image_digests(model) -%}
    {{ return(relations) }}
{%- endmacro %}


{% macro memo_insert_model_rows(target_relation) -%}
    {#- The model's rows (its compiled SQL, for the images in scope) added to its table. -#}
    insert into {{ target_relation }} by name
    select * from (
        {{ model.compiled_code }}
    )
{%- endmacro %}
