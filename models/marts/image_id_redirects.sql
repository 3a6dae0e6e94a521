-- Retired image IDs and the live image ID each resolves to: the `redirect` records of the
-- identity run, their details typed.
select
    details ->> 'retired_id' as retired_id,
    image_id,
    (details ->> 'retired_run')::bigint as retired_run
from {{ ref('int_identity_assignment') }}
where record_kind = 'redirect'
