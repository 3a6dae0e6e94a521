{#- A dict var (`prefilter`, `prompt`) merged onto its defaults, checked.

    dbt replaces a var as a whole when `--vars` or a unit test sets it, and no macro can see the
    project's value after that. So each dict var's settings and defaults are the var
    `<name>_defaults`, which nothing overrides, and the var `<name>` holds only the settings a
    run changes: a setting left out keeps its default, a setting given replaces it whole (a list
    or a mapping). The YAML that hands a dict var to a Python model (`meta.settings`) cannot call
    macros, so it merges with `dict(var('<name>_defaults'), **(var('<name>') or {}))`: the same
    one-level merge, checked here when the SQL models compile. A caller whose defaults are
    built (e.g. from a preset) passes them as `defaults`. -#}
{% macro settings_var(name, defaults=none) -%}
    {%- set defaults = var(name ~ '_defaults') if defaults is none else defaults -%}
    {%- set settings = var(name, none) -%}
    {%- if settings is none -%}
        {{ return(defaults) }}
    {%- endif -%}
    {%- if settings is not mapping -%}
        {{ exceptions.raise_compiler_error(
            "the var `" ~ name ~ "` must be a mapping of settings, got " ~ settings
        ) }}
    {%- endif -%}
    {%- set merged = {} -%}
    {%- do merged.update(defaults) -%}
    {%- for key, value in settings.items() -%}
        {%- if key not in defaults -%}
            {{ exceptions.raise_compiler_error(
                "unknown setting `" ~ name ~ "." ~ key ~ "` (allowed: "
                ~ defaults.keys() | join(', ') ~ ")"
            ) }}
        {%- endif -%}
        {%- if defaults[key] is mapping -%}
            {%- do settings_check_keys(name ~ '.' ~ key, value, defaults[key].keys()) -%}
        {%- endif -%}
        {%- do merged.update({key: value}) -%}
    {%- endfor -%}
    {{ return(merged) }}
{%- endmacro %}


{#- Fails unless `value` is a mapping with exactly the keys `keys`: a mapping setting replaces
    its default whole, so a key left out would silently be lost. -#}
{% macro settings_check_keys(path, value, keys) -%}
    {%- set expected = keys | list | sort -%}
    {%- if value is not mapping or value.keys() | list | sort != expected -%}
        {{ exceptions.raise_compiler_error(
            "the setting `" ~ path ~ "` replaces its default whole, so it needs exactly the keys "
            ~ expected | join(', ') ~ " (got " ~ value ~ ")"
        ) }}
    {%- endif -%}
{%- endmacro %}
