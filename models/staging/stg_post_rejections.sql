-- The raw rows staging leaves out, one row each: a row with a bad value (`bad_value`) and a row
-- whose post id a newer row also has (`duplicate_post`). Read by `rejections` (stage `staging`).
{%- set rejected = [] %}

with

{% for source_name in var('enabled_sources') -%}
    {%- do rejected.append(source_name ~ '_rejections') %}
    {{ source_name }}_rejections as (
        {{ raw_contract_rejections(source(source_name, 'posts')) }}
    ),

{% endfor -%}

rejected_rows as (
    {{ union_all_select(rejected, [
        'image_key', 'source', 'stage', 'reason', 'detail', 'post_id', 'raw_file', 'file_row_number'
    ]) }}
)

select
    image_key,
    source,
    stage,
    reason,
    detail,
    post_id,
    raw_file,
    file_row_number
from rejected_rows
order by source, raw_file, file_row_number
