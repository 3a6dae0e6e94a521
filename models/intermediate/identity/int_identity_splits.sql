-- The cluster-size guard's report: the `split` records of the identity run, their details typed.
select
    image_key,
    details ->> 'component_key' as component_key,
    (details ->> 'component_size')::bigint as component_size,
    details ->> 'part_key' as part_key,
    (details ->> 'part_size')::bigint as part_size,
    details ->> 'reason' as reason,
    details ->> 'cut_kind' as cut_kind,
    (details ->> 'cut_score')::double as cut_score
from {{ ref('int_identity_assignment') }}
where record_kind = 'split'
