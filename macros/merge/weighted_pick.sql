{#- Choose one value per image from trust-weighted votes.

    `votes` is a relation or CTE name with columns `image_id`, `value` and `weight` (one row per
    source that voted; NULL values and non-positive weights abstain). Votes for the same value
    are summed first, so two sources that agree outweigh one that is trusted a little more.

    mode `argmax`: the value with the largest summed weight; ties go to the smallest value, so
        the result never depends on row order.
    mode `sample`: a value drawn with probability proportional to its summed weight. The draw is
        `stable_uniform(image_id | field | seed)` placed on the cumulative weights of the values
        in ascending order, so the same inputs and seed give the same pick on every run and
        machine, and another seed gives another draw.

    `mode` and `seed` default to the vars `merge_mode` and `merge_seed`. Weights should be
    decimals (the seed's type), so sums are exact and do not depend on summation order.

    `key` is the column the votes are grouped on and the result is keyed by: `image_id`, or
    `image_number` (one integer per image within a build, cheaper to group on than the
    20-character ID). The draw always uses `image_id`, which is stable across builds, so with
    `image_number` the votes carry both. -#}
{% macro weighted_pick(votes, field, mode=none, seed=none, key='image_id') -%}
    {%- set pick_mode = var('merge_mode') if mode is none else mode -%}
    {%- set pick_seed = var('merge_seed') if seed is none else seed -%}
    {%- if pick_mode not in ('argmax', 'sample') -%}
        {{ exceptions.raise_compiler_error(
            "weighted_pick: merge_mode must be 'argmax' or 'sample', not '" ~ pick_mode ~ "'"
        ) }}
    {%- endif -%}
    with

    {%- set draws_by_key = pick_mode == 'sample' and key != 'image_id' %}
    summed_votes as (
        select
            {{ key }},
            value,
            {%- if draws_by_key %}
            any_value(image_id) as image_id,
            {%- endif %}
            sum(weight) as summed_weight
        from {{ votes }}
        where value is not null and weight > 0
        group by {{ key }}, value
    )
    {%- if pick_mode == 'argmax' %}

    select
        {{ key }},
        -- the smallest (negated weight, value): the most weight, then the smallest value
        arg_min(value, struct_pack(negated_weight := -summed_weight, value := value)) as value
    from summed_votes
    group by {{ key }}
    {%- else %},

    cumulative_votes as (
        select
            {{ key }},
            {%- if draws_by_key %}
            image_id,
            {%- endif %}
            value,
            sum(summed_weight) over (
                partition by {{ key }}
                order by value asc
                rows between unbounded preceding and current row
            ) as cumulative_weight,
            sum(summed_weight) over (partition by {{ key }}) as total_weight
        from summed_votes
    )

    select
        {{ key }},
        value
    from cumulative_votes
    where
        cumulative_weight::double
        > {{ stable_uniform(["image_id", "'" ~ field ~ "'", "'" ~ pick_seed ~ "'"]) }}
        * total_weight::double
    qualify row_number() over (partition by {{ key }} order by value asc) = 1
    {%- endif %}
{%- endmacro %}
