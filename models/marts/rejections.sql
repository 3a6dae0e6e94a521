-- Every key a stage dropped, with the stage and the reason. A union over the models listed in
-- the `rejection_models` var, so a new stage adds one entry there. Each listed model yields
-- image_key, source, stage, reason and detail; post_key is read off the image key.
{%- set rejection_relations = [] %}
{%- for model_name in var('rejection_models') %}
    {%- do rejection_relations.append(ref(model_name)) %}
{%- endfor %}

with

stage_rejections as (
    {{ union_all_select(
        rejection_relations,
        ['image_key', 'source', 'stage', 'reason', 'detail']
    ) }}
)

select
    image_key,
    source,
    case
        when starts_with(image_key, source || ':')
            then substr(image_key, length(source) + 2)
    end as post_key,
    stage,
    reason,
    detail
from stage_rejections
