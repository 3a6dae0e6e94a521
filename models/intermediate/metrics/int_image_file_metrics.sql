-- Metrics the pipeline computes for every image member: its size (width, height, aspect =
-- width / height) as int_image_members has it (decoded from the bytes where the image was
-- read) and its file (int_image_files: bytes, and the format sniffed from the bytes), in the
-- long shape of the models listed in the var `metric_models`.
{%- set numeric_metrics = ['width', 'height', 'aspect', 'bytes'] %}

with

members as (
    select
        image_key,
        width,
        height
    from {{ ref('int_image_members') }}
),

image_files as (
    select
        image_key,
        bytes,
        file_format
    from {{ ref('int_image_files') }}
),

member_files as (
    select
        members.image_key,
        members.width::double as width,
        members.height::double as height,
        members.width::double / nullif(members.height, 0) as aspect,
        image_files.bytes::double as bytes,
        image_files.file_format
    from members
    left join image_files on members.image_key = image_files.image_key
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
