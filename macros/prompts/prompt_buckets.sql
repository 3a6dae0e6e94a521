{#- The first bucket of `buckets` (a list of mappings with `tag` and the bound `bound_key`)
    whose bound `value` passes with `comparison` (`>` or `>=`), in list order; the bucket whose
    bound is null takes every value no other bucket takes. NULL when `value` is NULL, or when no
    bucket takes it. -#}
{% macro prompt_bucket(value, buckets, bound_key, comparison) -%}
    {%- set catch_all = [] -%}
    case
        when ({{ value }}) is null then null
        {%- for bucket in buckets %}
        {%- if bucket[bound_key] is none %}
        {%- do catch_all.append(bucket.tag) %}
        {%- else %}
        when ({{ value }}) {{ comparison }} {{ bucket[bound_key] }}
            then '{{ bucket.tag | replace("'", "''") }}'
        {%- endif %}
        {%- endfor %}
        {%- if catch_all %}
        else '{{ catch_all[0] | replace("'", "''") }}'
        {%- endif %}
    end
{%- endmacro %}


{#- The quality tag of a score percentile (0-1): the first of `prompt.quality_tags` whose
    `above` the percentile exceeds; the entry with `above: null` takes the rest. -#}
{% macro prompt_quality_tag(percentile) -%}
    {{ prompt_bucket(percentile, prompt_option('quality_tags'), 'above', '>') }}
{%- endmacro %}


{#- The year tag of a timestamp (its year in UTC): the first of `prompt.year_tags` whose
    `min_year` the year reaches; the entry with `min_year: null` takes the rest. -#}
{% macro prompt_year_tag(created_at) -%}
    {{ prompt_bucket(
        "year(timezone('UTC', " ~ created_at ~ "))",
        prompt_option('year_tags'), 'min_year', '>='
    ) }}
{%- endmacro %}


{#- The word `prompt.rating_words` gives a rating (general, sensitive, questionable,
    explicit); NULL for a rating it does not list. -#}
{% macro prompt_rating_word(rating) -%}
    case {{ rating }}
        {%- for rating_value, word in prompt_option('rating_words').items() %}
        when '{{ rating_value }}' then '{{ word | replace("'", "''") }}'
        {%- endfor %}
    end
{%- endmacro %}
