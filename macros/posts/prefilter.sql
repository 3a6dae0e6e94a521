{#- The `prefilter` var merged onto `prefilter_defaults` (see `settings_var`), checked. -#}
{% macro prefilter_config() -%}
    {%- set config = settings_var('prefilter') -%}
    {%- set percentile = config['pixiv_min_bookmark_percentile'] -%}
    {%- if percentile is not none and not (0 <= percentile <= 1) -%}
        {{ exceptions.raise_compiler_error(
            "prefilter.pixiv_min_bookmark_percentile must be a fraction in [0, 1], got " ~ percentile
        ) }}
    {%- endif -%}
    {%- if config['pixiv_bookmark_percentile_of'] not in ['total_bookmarks', 'bookmark_rate'] -%}
        {{ exceptions.raise_compiler_error(
            "prefilter.pixiv_bookmark_percentile_of must be total_bookmarks or bookmark_rate"
        ) }}
    {%- endif -%}
    {{ return(config) }}
{%- endmacro %}


{#- The enabled prefilter rules in evaluation order; the first rule a post matches is its reason.

    Each rule is {reason, condition, detail} over the columns of the prefilter's `post_attributes`
    CTE: is_deleted, is_banned, is_pending, file_ext, work_type, width, height, tags, source,
    illust_ai_type, total_bookmarks, bookmark_metric and bookmark_metric_threshold. A NULL input
    never matches a rule (unknown is not evidence); `least()` skips NULLs, so one known side
    below `min_side` is enough for too_small. Order, and why:
      1. deleted, 2. banned, 3. pending: the site itself withdrew or has not approved the post;
      4. non_image_type: not a still image (file extension, or pixiv ugoira);
      5. too_small: the shorter side is below `min_side`;
      6. ai_flagged: pixiv `illust_ai_type = 2`, or a tag in `ai_flagged_tags`;
      7. pixiv_few_bookmarks: pixiv total_bookmarks below `pixiv_min_bookmarks`;
      8. pixiv_low_bookmark_percentile: pixiv bookmark metric below its configured quantile. -#}
{% macro prefilter_rules() -%}
    {%- set config = prefilter_config() -%}
    {%- set rules = [] -%}
    {%- if config['drop_deleted'] -%}
        {%- do rules.append({
            'reason': 'deleted', 'condition': 'is_deleted', 'detail': "'is_deleted'",
        }) -%}
    {%- endif -%}
    {%- if config['drop_banned'] -%}
        {%- do rules.append({
            'reason': 'banned', 'condition': 'is_banned', 'detail': "'is_banned'",
        }) -%}
    {%- endif -%}
    {%- if config['drop_pending'] -%}
        {%- do rules.append({
            'reason': 'pending', 'condition': 'is_pending', 'detail': "'is_pending'",
        }) -%}
    {%- endif -%}
    {%- set exts = (config['allowed_file_exts'] or []) | map('lower') | list -%}
    {%- set work_types = (config['blocked_work_types'] or []) | map('lower') | list -%}
    {%- if exts or work_types -%}
        {%- set tests = [] -%}
        {%- if exts -%}
            {%- do tests.append(
                "not list_contains(" ~ sql_string_list(exts) ~ ", lower(file_ext))"
            ) -%}
        {%- endif -%}
        {%- if work_types -%}
            {%- do tests.append(
                "list_contains(" ~ sql_string_list(work_types) ~ ", lower(work_type))"
            ) -%}
        {%- endif -%}
        {%- do rules.append({
            'reason': 'non_image_type',
            'condition': '(' ~ tests | join(' or ') ~ ')',
            'detail': "concat_ws(' ', 'file_ext=' || file_ext, 'work_type=' || work_type)",
        }) -%}
    {%- endif -%}
    {%- if config['min_side'] is not none -%}
        {%- do rules.append({
            'reason': 'too_small',
            'condition': 'least(width, height) < ' ~ config['min_side'],
            'detail': "format('{}x{}, min_side {}', coalesce(cast(width as varchar), '?'), "
                ~ "coalesce(cast(height as varchar), '?'), " ~ config['min_side'] ~ ")",
        }) -%}
    {%- endif -%}
    {%- if config['drop_ai_flagged'] -%}
        {%- set ai_tags = (config['ai_flagged_tags'] or []) | map('lower') | list -%}
        {%- set ai_condition = "(source = 'pixiv' and illust_ai_type = 2)" -%}
        {%- if ai_tags -%}
            {%- set ai_condition = "(" ~ ai_condition ~ " or list_has_any(tags, "
                ~ sql_string_list(ai_tags) ~ "))" -%}
        {%- endif -%}
        {%- do rules.append({
            'reason': 'ai_flagged',
            'condition': ai_condition,
            'detail': "case when illust_ai_type = 2 then 'illust_ai_type=2' else 'ai tag' end",
        }) -%}
    {%- endif -%}
    {%- if config['pixiv_min_bookmarks'] is not none -%}
        {%- do rules.append({
            'reason': 'pixiv_few_bookmarks',
            'condition': "source = 'pixiv' and total_bookmarks < " ~ config['pixiv_min_bookmarks'],
            'detail': "format('total_bookmarks {} < {}', total_bookmarks, "
                ~ config['pixiv_min_bookmarks'] ~ ")",
        }) -%}
    {%- endif -%}
    {%- if config['pixiv_min_bookmark_percentile'] is not none -%}
        {%- do rules.append({
            'reason': 'pixiv_low_bookmark_percentile',
            'condition': "source = 'pixiv' and bookmark_metric < bookmark_metric_threshold",
            'detail': "format('" ~ config['pixiv_bookmark_percentile_of']
                ~ " {} < {} (quantile " ~ config['pixiv_min_bookmark_percentile']
                ~ ")', round(bookmark_metric, 4), round(bookmark_metric_threshold, 4))",
        }) -%}
    {%- endif -%}
    {{ return(rules) }}
{%- endmacro %}


{#- `case when <rule 1> then <field of rule 1> ... end` over the enabled rules, for field
    `reason` or `detail`; NULL when no rule matches or none is enabled. -#}
{% macro prefilter_case(field) -%}
    {%- set rules = prefilter_rules() -%}
    {%- if rules | length == 0 -%}
        cast(null as varchar)
    {%- else -%}
        case
        {%- for rule in rules %}
            when {{ rule['condition'] }} then
                {%- if field == 'reason' %} '{{ rule["reason"] }}'{% else %} {{ rule[field] }}{% endif %}
        {%- endfor %}
        end
    {%- endif -%}
{%- endmacro %}
