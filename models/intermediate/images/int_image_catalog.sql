-- The image catalog: the lake entries the scan took, ordered by where their bytes are, so that
-- reading images in table order reads each shard front to back.
select
    image_key,
    source,
    key,
    uri,
    "offset",
    length,
    ext,
    length as bytes
from {{ ref('int_image_lake_scan') }}
where is_catalogued
order by uri, "offset", image_key
