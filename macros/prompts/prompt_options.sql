{#- One option of the `prompt` var merged onto its defaults (see `settings_var`): the var
    `prompt_defaults` with the options of the preset `prompt_preset` (prompt_preset_options)
    over them, so an override sets only the options it changes. -#}
{% macro prompt_option(name) -%}
    {%- set defaults = var('prompt_defaults').copy() -%}
    {%- do defaults.update(prompt_preset_options(var('prompt_preset', none))) -%}
    {{ return(settings_var('prompt', defaults)[name]) }}
{%- endmacro %}


{#- The options of the `prompt` var. -#}
{% macro prompt_option_names() -%}
    {{ return(var('prompt_defaults').keys() | list) }}
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
