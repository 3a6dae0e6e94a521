-- Identity edges refused because they would have put a cannot-link pair into one cluster: the
-- `refused` records of the identity run, their details typed.
select
    details ->> 'left_key' as left_key,
    details ->> 'right_key' as right_key,
    details ->> 'kind' as kind,
    (details ->> 'score')::double as score,
    details ->> 'reason' as reason,
    details ->> 'blocked_left_key' as blocked_left_key,
    details ->> 'blocked_right_key' as blocked_right_key
from {{ ref('int_identity_assignment') }}
where record_kind = 'refused'
