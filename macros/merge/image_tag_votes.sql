{#- The tag votes of the images several sources vote on (int_image_tag_votes), of the
    representatives for which `scope` holds. -#}
{% macro image_tag_votes(scope='true') -%}

with

voters as (
    select
        image_number,
        tags,
        tags_weight
    from {{ ref('int_image_representatives') }}
    where n_tag_voters > 1 and len(tags) > 0 and tags_weight > 0 and {{ scope }}
),

image_weights as (
    select
        image_number,
        sum(tags_weight) as image_weight
    from voters
    group by image_number
),

voter_tags as (
    select
        image_number,
        tags_weight,
        unnest(tags) as tag
    from voters
),

tag_weights as (
    select
        image_number,
        tag,
        sum(tags_weight) as tag_weight
    from voter_tags
    group by image_number, tag
),

tag_dictionary as (
    select
        tag,
        category
    from {{ ref('int_tag_dictionary') }}
)

select
    tag_weights.image_number,
    tag_weights.tag,
    coalesce(tag_dictionary.category, 'general') as category,
    tag_weights.tag_weight,
    image_weights.image_weight,
    round(tag_weights.tag_weight::double / image_weights.image_weight::double, 6) as confidence
from tag_weights
inner join image_weights on tag_weights.image_number = image_weights.image_number
left join tag_dictionary on tag_weights.tag = tag_dictionary.tag
{%- endmacro %}
