-- Identity edges refused because they would have put a cannot-link pair into one cluster: the
-- `refused` records of the identity run.
select
    left_key,
    right_key,
    kind,
    score,
    reason,
    blocked_left_key,
    blocked_right_key
from {{ ref('int_identity_assignment') }}
where record_kind = 'refused'
