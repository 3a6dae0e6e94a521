{#- Tag normalization shared by every source: tags end up in danbooru's vocabulary. -#}

{% macro clean_tag(tag) -%}
    {#- One tag in normalized spelling: lowercased, surrounding whitespace removed, inner runs of
        whitespace (Unicode spaces included, e.g. the ideographic space) replaced by `_`. An empty
        result is NULL, so that empty tags drop out. -#}
    nullif(
        regexp_replace(
            regexp_replace(lower({{ tag }}), '^[\s\p{Z}]+|[\s\p{Z}]+$', '', 'g'),
            '[\s\p{Z}]+',
            '_',
            'g'
        ),
        ''
    )
{%- endmacro %}


{% macro split_tag_string(tag_string) -%}
    {#- A booru tag string (tags separated by whitespace) as a list of raw tags. -#}
    string_split_regex({{ tag_string }}, '\s+')
{%- endmacro %}


{% macro normalized_tag_lists(relation, key, lists, fallbacks={}) -%}
    {#- A select with one row per row of `relation`: `tag_owner` (the value of `key`, which must be
        unique) and one normalized tag list per entry of `lists`.

        `lists` maps an output column name to a SQL expression over `relation` giving the raw tags
        (varchar[]). `fallbacks` optionally maps the same name to a list of the same length whose
        elements stand in for the raw tag at the same position (pixiv's translated names).

        Each tag becomes, in order of preference: the alias target of the cleaned tag, the alias
        target of the cleaned fallback, the cleaned fallback, the cleaned tag. Aliases come from the
        `tag_aliases` seed. Each list is distinct and sorted; it is empty when the raw list held no
        usable tag and NULL when the raw list was NULL.

        Tags are unnested and joined to the aliases rather than looked up per element, so that the
        lookup is a hash join however many aliases there are. -#}
    with tag_lists as (
        select
            {{ key }} as tag_owner
            {%- for name, expression in lists.items() %},
            {{ expression }} as {{ name }}
            {%- if name in fallbacks %},
            {{ fallbacks[name] }} as {{ name }}__fallback
            {%- endif %}
            {%- endfor %}
        from {{ relation }}
    ),

    raw_tags as (
        {%- for name in lists %}
        select
            tag_owner,
            '{{ name }}' as tag_list,
            unnest({{ name }}) as raw_tag,
            {%- if name in fallbacks %}
            unnest({{ name }}__fallback) as fallback_tag
            {%- else %}
            null::varchar as fallback_tag
            {%- endif %}
        from tag_lists
        {{ "union all" if not loop.last }}
        {%- endfor %}
    ),

    cleaned_tags as (
        select
            tag_owner,
            tag_list,
            {{ clean_tag('raw_tag') }} as tag,
            {{ clean_tag('fallback_tag') }} as fallback_tag
        from raw_tags
    ),

    tag_aliases as (
        select distinct
            {{ clean_tag('alias') }} as alias,
            {{ clean_tag('tag') }} as tag
        from {{ ref('tag_aliases') }}
    ),

    aliased_tags as (
        select
            cleaned_tags.tag_owner,
            cleaned_tags.tag_list,
            coalesce(
                tag_alias.tag, fallback_alias.tag, cleaned_tags.fallback_tag, cleaned_tags.tag
            ) as tag
        from cleaned_tags
        left join tag_aliases as tag_alias
            on cleaned_tags.tag = tag_alias.alias
        left join tag_aliases as fallback_alias
            on cleaned_tags.fallback_tag = fallback_alias.alias
    ),

    tag_sets as (
        select
            tag_owner
            {%- for name in lists %},
            list_sort(list_distinct(list(tag) filter (where tag_list = '{{ name }}'))) as {{ name }}
            {%- endfor %}
        from aliased_tags
        where tag is not null
        group by tag_owner
    )

    select
        tag_lists.tag_owner
        {%- for name in lists %},
        case
            when tag_lists.{{ name }} is not null then coalesce(tag_sets.{{ name }}, []::varchar[])
        end as {{ name }}
        {%- endfor %}
    from tag_lists
    left join tag_sets
        on tag_lists.tag_owner = tag_sets.tag_owner
{%- endmacro %}
