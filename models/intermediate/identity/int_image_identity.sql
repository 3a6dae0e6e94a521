-- Every identity node with its stable image ID: the `member` records of the identity run.
with

members as (
    select
        image_key,
        image_id,
        cluster_size,
        was_split
    from {{ ref('int_identity_assignment') }}
    where record_kind = 'member'
)

select
    image_key,
    image_id,
    cluster_size,
    was_split
from members
