{#- One prompt option: from the `prompt` var block, else from the preset `prompt_preset`
    (prompt_preset_options). Every option must be present in one of them: a unit test or a
    `--vars` override that sets `prompt` replaces the whole block, so a missing option is an
    error here rather than a silent default. -#}
{% macro prompt_option(name) -%}
    {%- set options = prompt_preset_options(var('prompt_preset', none)).copy() -%}
    {%- do options.update(var('prompt')) -%}
    {%- if name not in options -%}
        {{ exceptions.raise_compiler_error(
            "the `prompt` var and the preset `prompt_preset` have no option '" ~ name
            ~ "' (together they need all of: " ~ prompt_option_names() | join(', ') ~ ")"
        ) }}
    {%- endif -%}
    {{ return(options[name]) }}
{%- endmacro %}


{#- The options of the `prompt` var block. -#}
{% macro prompt_option_names() -%}
    {{ return([
        'sections', 'separator', 'count_tag_pattern', 'keep_meta_tags', 'kaomoji',
        'certain_confidence', 'shuffle_seed', 'max_general_tags', 'rating_words',
        'quality_tags', 'year_tags', 'escape_parentheses', 'keep_tokens_separator',
        'kohya_shuffled_sections',
    ]) }}
{%- endmacro %}


{#- The sections a prompt can have, by the name `prompt.sections` lists them under. -#}
{% macro prompt_section_names() -%}
    {{ return([
        'count', 'characters', 'copyrights', 'artist', 'general', 'rating', 'quality', 'year',
    ]) }}
{%- endmacro %}


{#- `prompt.sections`, checked: known names, each at most once. -#}
{% macro prompt_sections() -%}
    {%- set sections = prompt_option('sections') -%}
    {%- for name in sections -%}
        {%- if name not in prompt_section_names() -%}
            {{ exceptions.raise_compiler_error(
                "prompt.sections: unknown section '" ~ name ~ "' (known: "
                ~ prompt_section_names() | join(', ') ~ ")"
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if sections | unique | list | length != sections | length -%}
        {{ exceptions.raise_compiler_error("prompt.sections lists a section twice") }}
    {%- endif -%}
    {{ return(sections) }}
{%- endmacro %}
