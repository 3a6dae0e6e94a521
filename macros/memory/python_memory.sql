{% macro release_python_memory() -%}
    {#- A post-hook on every model: after a Python model, the Arrow memory it freed goes back to
        the OS (the plugin's `dataproc_release_python_memory()`). The pool would keep it mapped
        for the rest of the build, under every later node. Nothing for SQL models. -#}
    {%- if model.language == 'python' -%}
        select dataproc_release_python_memory()
    {%- endif -%}
{%- endmacro %}
