{#- One vote per row of `members` for `field`: `image_number`, `image_id`, `value` (the SQL
    expression `value` over the members' columns; a set-returning `unnest(...)` casts one vote
    per element) and the member's source's trust `weight` for that field from the `source_trust` seed. A source with
    no row for the field does not vote (the `merge_source_trust_is_complete` test
    fails the build when an enabled source lacks a row). -#}
{% macro trust_votes(members, field, value) -%}
    select
        members.image_number,
        members.image_id,
        {{ value }} as value,
        source_trust.weight
    from {{ members }} as members
    inner join {{ ref('source_trust') }} as source_trust
        on
            members.source = source_trust.source
            and source_trust.field = '{{ field }}'
{%- endmacro %}
