-- Metrics the pipeline computes for every image member: its size as its site reports it
-- (width, height, aspect = width / height) and its file in the image catalog (bytes, format),
-- in the long shape of the models listed in the var `metric_models`.
{%- set numeric_metrics = ['width', 'height', 'aspect', 'bytes'] %}

with

members as (
    select
        image_key,
        width,
        height
    from {{ ref('int_image_members') }}
),

catalog_files as (
    select
        image_key,
        bytes,
        ext
    from {{ ref('int_image_catalog') }}
),

member_files as (
    select
        members.image_key,
        members.width::double as width,
        members.height::double as height,
        members.width::double / nullif(members.height, 0) as aspect,
        catalog_files.bytes::double as bytes,
        case catalog_files.ext when 'jpeg' then 'jpg' else catalog_files.ext end as file_format
    from members
    left join catalog_files on members.image_key = catalog_files.image_key
)

{% for metric in numeric_metrics -%}
    select
        image_key,
        '{{ metric }}' as metric,
        {{ metric }} as value,  -- noqa: RF04
        null::varchar as value_text
    from member_files
    where {{ metric }} is not null
    union all
{% endfor -%}
select
    image_key,
    'format' as metric,
    null::double as value,  -- noqa: RF04
    file_format as value_text
from member_files
where file_format is not null
