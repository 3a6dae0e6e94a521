-- The lake entries the scan refused, with stage `catalog`, a reason code and a detail, ordered
-- by object, header_offset in it, member and reason.
select
    image_key,
    source,
    uri,
    member,
    'catalog' as stage,
    reason,
    detail
from {{ ref('int_image_lake_scan') }}
where not is_catalogued
order by uri, header_offset, coalesce(member, ''), reason, detail
