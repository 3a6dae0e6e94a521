-- The cluster-size guard's report: the `split` records of the identity run.
select
    image_key,
    component_key,
    component_size,
    part_key,
    part_size,
    reason,
    cut_kind,
    cut_score
from {{ ref('int_identity_assignment') }}
where record_kind = 'split'
