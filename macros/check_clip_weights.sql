{#- Run before any model (on-run-start): an in-process embedding step without usable weights
    fails here, with what to do, instead of after the models before it have been built. The
    Python engine applies the same rules (dataproc.embedding.engine.check_weights). -#}
{% macro check_clip_weights() %}
    {%- set embeds_here = 'model.dataproc.int_image_embeddings' in selected_resources
        and not env_var('DATAPROC_EMBEDDER_URLS', '') -%}
    {%- if execute and embeds_here -%}
        {%- set model = var('clip_model') -%}
        {%- set weights = var('clip_pretrained') -%}
        {%- if not weights and not var('clip_allow_random_weights') -%}
            {{ exceptions.raise_compiler_error(
                'no weights given for ' ~ model ~ ' (clip_pretrained is empty): its embeddings'
                ~ ' would be random. Set clip_pretrained to a checkpoint file or an open_clip'
                ~ ' pretrained tag; to embed with random weights anyway (benchmarks), set the'
                ~ ' var clip_allow_random_weights: true.'
            ) }}
        {%- endif -%}
        {%- set suffixes = ('.pt', '.pth', '.bin', '.ckpt', '.safetensors') -%}
        {%- if weights and ('/' in weights or weights.endswith(suffixes)) -%}
            {%- set found = run_query(
                'select count(*) from glob(' ~ dbt.string_literal(weights) ~ ')'
            ).columns[0].values()[0] -%}
            {%- if found == 0 -%}
                {%- if model == 'dataproc-tiny' -%}
                    {%- set remedy = 'write them with `dataproc embedder checkpoint ' ~ weights
                        ~ ' --seed 0`' -%}
                {%- else -%}
                    {%- set remedy = 'download the checkpoint to that path, or set'
                        ~ ' clip_pretrained to another file or to an open_clip pretrained tag'
                    -%}
                {%- endif -%}
                {{ exceptions.raise_compiler_error(
                    'the weights file ' ~ weights ~ ' for ' ~ model ~ ' does not exist: '
                    ~ remedy ~ '.'
                ) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
