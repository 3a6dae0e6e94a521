{#- The shape every `stg_<source>__posts` model shares, and small field cleaners they all use. -#}

{% macro shared_post_schema() -%}
    {#- The shared staging columns, in output order, with their types. `image_key` and `source`
        are derived by `shared_post_columns`; the others must exist in the model's final CTE. -#}
    {{ return([
        ('image_key', 'varchar'),
        ('source', 'varchar'),
        ('post_key', 'varchar'),
        ('post_id', 'bigint'),
        ('md5', 'varchar'),
        ('rating', 'varchar'),
        ('created_at', 'timestamptz'),
        ('width', 'integer'),
        ('height', 'integer'),
        ('score', 'integer'),
        ('tags', 'varchar[]'),
        ('tags_by_category', 'struct(artist varchar[], "character" varchar[], copyright varchar[], general varchar[], meta varchar[])'),
        ('source_url', 'varchar'),
        ('file_ext', 'varchar'),
        ('is_deleted', 'boolean'),
        ('is_pending', 'boolean'),
        ('is_banned', 'boolean'),
        ('is_flagged', 'boolean'),
        ('raw_file', 'varchar'),
        ('file_row_number', 'bigint'),
    ]) }}
{%- endmacro %}


{% macro shared_post_columns(source_name) -%}
    {#- The shared columns of a staging posts model, in order and cast to their shared types.
        `image_key` is `<source>:<post_key>`, the image's global key in the lake. -#}
    {%- for name, data_type in shared_post_schema() -%}
        {%- if name == 'image_key' -%}
            cast('{{ source_name }}:' || post_key as varchar) as image_key
        {%- elif name == 'source' -%}
            cast('{{ source_name }}' as varchar) as source
        {%- else -%}
            cast({{ name }} as {{ data_type }}) as {{ name }}
        {%- endif -%}
        {{ ",\n    " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}


{% macro blank_to_null(text) -%}
    {#- Text with surrounding whitespace removed; empty text becomes NULL. -#}
    nullif(trim({{ text }}), '')
{%- endmacro %}


{% macro clean_md5(md5) -%}
    {#- An MD5 digest as lowercase hex, NULL when blank. -#}
    lower({{ blank_to_null(md5) }})
{%- endmacro %}


{% macro file_extension(extension) -%}
    {#- A file extension lowercased and without its leading dot, NULL when blank. -#}
    nullif(lower(ltrim(trim({{ extension }}), '.')), '')
{%- endmacro %}


{% macro url_file_extension(url) -%}
    {#- The file extension at the end of a URL's path (query and fragment ignored), or NULL. -#}
    {{ file_extension("regexp_extract(" ~ url ~ ", '\.([^./?#]+)(?:[?#].*)?$', 1)") }}
{%- endmacro %}


{% macro booru_status_flags(status) -%}
    {#- The shared moderation flags from a booru post `status` (active, pending, flagged or
        deleted). Boorus that report a single status have no notion of a banned post. -#}
    lower({{ status }}) = 'deleted' as is_deleted,
    lower({{ status }}) = 'pending' as is_pending,
    false as is_banned,
    lower({{ status }}) = 'flagged' as is_flagged
{%- endmacro %}
