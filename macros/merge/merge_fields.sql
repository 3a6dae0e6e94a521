{#- The fields `source_trust` weighs and the merge chooses. `tags` are voted on per tag
    (int_image_tag_votes); the others are picked with `weighted_pick`. -#}
{% macro merge_trust_fields() -%}
    {{ return(['rating', 'artist', 'characters', 'copyrights', 'created_at', 'tags']) }}
{%- endmacro %}


{#- Tag categories in the order that breaks ties when a tag is filed under several categories
    equally often: the most specific first. They are the fields of `tags_by_category`. -#}
{% macro merge_tag_categories() -%}
    {{ return(['artist', 'character', 'copyright', 'meta', 'general']) }}
{%- endmacro %}


{#- A DuckDB list literal of strings: ['a', 'b']. -#}
{% macro sql_string_list(values) -%}
    [{%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}
    {%- endfor -%}]
{%- endmacro %}


{#- `tag, category` rows for every tag of every non-NULL `tags_by_category` struct in
    `relation` (one `union all` branch per category). -#}
{% macro unnest_tags_by_category(relation) -%}
    {%- for category in merge_tag_categories() %}
    select
        unnest(struct_extract(tags_by_category, '{{ category }}')) as tag,
        '{{ category }}' as category
    from {{ relation }}
    where tags_by_category is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}


{#- A post's sorted tags of one category: from its own `tags_by_category` struct when its
    source files tags by category, else `dictionary_tags` (the post's flat tags that the tag
    dictionary files under that category), else an empty list. -#}
{% macro categorized_tags(tags_by_category, category, dictionary_tags) -%}
    case
        when {{ tags_by_category }} is not null
            then list_sort(coalesce(struct_extract({{ tags_by_category }}, '{{ category }}'), []))
        else coalesce({{ dictionary_tags }}, [])
    end
{%- endmacro %}


{#- The tags of a `list<struct(tag, category)>` filed under `category`, in list order. -#}
{% macro tags_in_category(categorized_tags, category) -%}
    list_transform(
        list_filter({{ categorized_tags }}, named -> named.category = '{{ category }}'),
        named -> named.tag
    )
{%- endmacro %}


{#- The position of `source` in the `source_priority` var (1 = first choice); NULL for a
    source the var does not list, so `asc nulls last` puts unlisted sources last. -#}
{% macro source_priority_rank(source) -%}
    list_position({{ sql_string_list(var('source_priority')) }}, {{ source }})
{%- endmacro %}


{#- ORDER BY terms that rank an image's members from most to least trusted: their source in
    `source_priority` order (unlisted last), then the source's representative, then the smallest
    image_key. `members` is an alias with columns source, is_representative and image_key. -#}
{% macro member_trust_order(members) -%}
    {{ source_priority_rank(members ~ '.source') }} asc nulls last,
    {{ members }}.is_representative desc,
    {{ members }}.image_key asc
{%- endmacro %}
