-- Retired image IDs and the live image ID each resolves to: the `redirect` records of the
-- identity run.
select
    retired_id,
    image_id,
    retired_run
from {{ ref('int_identity_assignment') }}
where record_kind = 'redirect'
