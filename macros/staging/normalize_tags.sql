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
    {#- A booru tag string (tags separated by whitespace) as a list of raw tags. A string whose
        only whitespace is the space is split on the space, five times faster than the regular
        expression: where spaces repeat, that leaves empty tags, which `clean_tag` drops. -#}
    case
        when
            contains({{ tag_string }}, chr(9)) or contains({{ tag_string }}, chr(10))
            or contains({{ tag_string }}, chr(12)) or contains({{ tag_string }}, chr(13))
            then string_split_regex({{ tag_string }}, '\s+')
        else string_split({{ tag_string }}, ' ')
    end
{%- endmacro %}


{% macro normalized_tag_lists(relation, key, lists, fallbacks={}) -%}
    {#- A select with one row per row of `relation`: its columns, and one normalized tag list per
        entry of `lists`, which replaces the column of the same name if there is one. `key` names
        the column that identifies a row (it must be unique). The rows come out with their tags,
        so the model needs no join back onto `relation`: that join of every row cost a quarter of
        danbooru's staging time.

        `lists` maps an output column name to a SQL expression over `relation` giving the raw tags
        (varchar[]). `fallbacks` optionally maps the same name to a list of the same length whose
        elements stand in for the raw tag at the same position (pixiv's translated names).

        Each tag becomes, in order of preference: the alias target of the cleaned tag, the alias
        target of the cleaned fallback, the cleaned fallback, the cleaned tag. Aliases come from the
        `tag_aliases` seed. Each list is distinct and sorted; it is empty when the raw list held no
        usable tag and NULL when the raw list was NULL.

        Tags are unnested, and each distinct raw spelling is cleaned and aliased once and joined
        back, so the cleaning runs once per spelling and the lookup is a hash join however many
        aliases there are. The lists are grouped as integer tag numbers (in tag order) and mapped
        back to tags through one vocabulary list, so the grouping holds integers, not strings. -#}
    -- Neither list CTE is materialized: unnesting the lists twice costs less than writing the
    -- tens of millions of tag rows out once and reading them back twice.
    with tag_lists as not materialized (
        select
            *,
            {{ key }} as tag_owner
            {%- for name, expression in lists.items() %},
            {{ expression }} as {{ name }}__raw_tags
            {%- if name in fallbacks %},
            {{ fallbacks[name] }} as {{ name }}__fallback_tags
            {%- endif %}
            {%- endfor %}
        from {{ relation }}
    ),

    raw_tags as not materialized (
        {%- for name in lists %}
        select
            tag_owner,
            {{ loop.index }} as tag_list,
            unnest({{ name }}__raw_tags) as raw_tag,
            {%- if name in fallbacks %}
            unnest({{ name }}__fallback_tags) as fallback_tag
            {%- else %}
            null::varchar as fallback_tag
            {%- endif %}
        from tag_lists
        {{ "union all" if not loop.last }}
        {%- endfor %}
    ),

    -- Each distinct raw spelling is cleaned and aliased once, then joined back: a crawl repeats
    -- the same few hundred thousand spellings across tens of millions of tag occurrences.
    spellings as (
        select raw_tag as spelling from raw_tags where raw_tag is not null
        union
        select fallback_tag as spelling from raw_tags where fallback_tag is not null
    ),

    cleaned_spellings as (
        select
            spelling,
            {{ clean_tag('spelling') }} as tag
        from spellings
    ),

    tag_aliases as (
        select distinct
            {{ clean_tag('alias') }} as alias,
            {{ clean_tag('tag') }} as tag
        from {{ ref('tag_aliases') }}
    ),

    spelling_tags as (
        select
            cleaned_spellings.spelling,
            cleaned_spellings.tag as cleaned_tag,
            tag_aliases.tag as alias_target
        from cleaned_spellings
        left join tag_aliases
            on cleaned_spellings.tag = tag_aliases.alias
    ),

    -- Every tag a list can end up with, numbered in sort order: the lists are grouped as these
    -- integers, a fraction of the strings' memory, and sorting the numbers sorts the tags.
    tag_vocabulary as (
        select
            tag,
            row_number() over (order by tag) as tag_id
        from (
            select cleaned_tag as tag from spelling_tags
            union
            select alias_target as tag from spelling_tags
        ) as output_tags
        where tag is not null
    ),

    vocabulary_list as (
        select list(tag order by tag_id) as tags
        from tag_vocabulary
    ),

    spelling_ids as (
        select
            spelling_tags.spelling,
            cleaned_vocabulary.tag_id as cleaned_tag_id,
            alias_vocabulary.tag_id as alias_target_id
        from spelling_tags
        left join tag_vocabulary as cleaned_vocabulary
            on spelling_tags.cleaned_tag = cleaned_vocabulary.tag
        left join tag_vocabulary as alias_vocabulary
            on spelling_tags.alias_target = alias_vocabulary.tag
    ),

    aliased_tags as (
        select
            raw_tags.tag_owner,
            raw_tags.tag_list,
            coalesce(
                raw_spelling.alias_target_id,
                fallback_spelling.alias_target_id,
                fallback_spelling.cleaned_tag_id,
                raw_spelling.cleaned_tag_id
            ) as tag_id
        from raw_tags
        left join spelling_ids as raw_spelling
            on raw_tags.raw_tag = raw_spelling.spelling
        left join spelling_ids as fallback_spelling
            on raw_tags.fallback_tag = fallback_spelling.spelling
    ),

    sorted_tag_ids as (
        select
            tag_owner
            {%- for name in lists %},
            list_sort(list(tag_id) filter (where tag_list = {{ loop.index }})) as {{ name }}__tag_ids
            {%- endfor %}
        from aliased_tags
        where tag_id is not null
        group by tag_owner
    ),

    -- In a sorted list a repeat follows its first: dropping the numbers equal to the one before
    -- is list_distinct at a third of its cost.
    tag_id_sets as (
        select
            tag_owner
            {%- for name in lists %},
            list_filter(
                {{ name }}__tag_ids, (tag_id, i) -> i = 1 or tag_id != {{ name }}__tag_ids[i - 1]
            ) as {{ name }}__tag_ids
            {%- endfor %}
        from sorted_tag_ids
    ),

    rows_with_tag_ids as (
        select
            tag_lists.*,
            vocabulary_list.tags as tag_vocabulary
            {%- for name in lists %},
            tag_id_sets.{{ name }}__tag_ids
            {%- endfor %}
        from tag_lists
        cross join vocabulary_list
        left join tag_id_sets
            on tag_lists.tag_owner = tag_id_sets.tag_owner
    )

    {%- set working_columns = ['tag_owner', 'tag_vocabulary'] -%}
    {%- for name in lists -%}
        {%- for suffix in ['', '__raw_tags', '__fallback_tags', '__tag_ids'] -%}
            {%- do working_columns.append(name ~ suffix) -%}
        {%- endfor -%}
    {%- endfor %}

    select
        columns(column_name -> not list_contains({{ sql_string_list(working_columns) }}, column_name))
        {%- for name in lists %},
        case
            when {{ name }}__raw_tags is not null
                then list_transform(
                    coalesce({{ name }}__tag_ids, []::bigint[]), tag_id -> tag_vocabulary[tag_id]
                )
        end as {{ name }}
        {%- endfor %}
    from rows_with_tag_ids
{%- endmacro %}
