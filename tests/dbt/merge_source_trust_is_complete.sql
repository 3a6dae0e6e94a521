-- source_trust must give every enabled source exactly one non-negative weight for every merge
-- field. Returns the offending (source, field) pairs with what is wrong.
with

enabled_sources as (
    select unnest({{ sql_string_list(var('enabled_sources')) }}) as source_name
),

merge_fields as (
    select unnest({{ sql_string_list(merge_trust_fields()) }}) as field
),

trust_rows as (
    select
        source,
        field,
        count(*) as n_rows,
        min(weight) as min_weight
    from {{ ref('source_trust') }}
    group by source, field
),

expected as (
    select
        enabled_sources.source_name,
        merge_fields.field
    from enabled_sources
    cross join merge_fields
)

select
    expected.source_name,
    expected.field,
    case
        when trust_rows.n_rows is null then 'missing'
        when trust_rows.n_rows > 1 then 'duplicated'
        else 'negative weight'
    end as problem
from expected
left join trust_rows
    on expected.source_name = trust_rows.source and expected.field = trust_rows.field
where
    trust_rows.n_rows is null
    or trust_rows.n_rows > 1
    or trust_rows.min_weight < 0
