-- Every identity node with its stable image ID: the `member` records of the identity run.
select
    image_key,
    image_id,
    cluster_size,
    was_split
from {{ ref('int_identity_assignment') }}
where record_kind = 'member'
