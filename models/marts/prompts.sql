-- One training prompt per training candidate (int_training_candidates), built section by
-- section in the order of `prompt.sections` (default: count tags, characters, copyrights,
-- artist, general tags, rating, quality, year) and joined with `prompt.separator`. General
-- tags go certain first (confidence >= `prompt.certain_confidence`, most confident first) and
-- uncertain last, shuffled by a hash of (image_id, tag, `prompt.shuffle_seed`), so text
-- encoders that weight early tokens see reliable tags first. `sections` keeps the structure.
-- `kohya_caption` is the same tags for kohya-ss sd-scripts: the sections before `general`
-- (fixed head), `prompt.keep_tokens_separator`, `general` and `prompt.kohya_shuffled_sections`
-- (which kohya's shuffle_caption shuffles), then the separator again and the sections after
-- `general` (the fixed tail) when there are any.
{%- set sections = prompt_sections() %}
{%- set count_pattern = prompt_option('count_tag_pattern') | replace("'", "''") %}
{%- set max_general_tags = prompt_option('max_general_tags') %}
{%- set keep_tokens_separator = prompt_option('keep_tokens_separator') | replace("'", "''") %}
{%- set kohya_shuffled = prompt_option('kohya_shuffled_sections') %}
{%- for name in kohya_shuffled if name not in prompt_section_names() %}
    {{- exceptions.raise_compiler_error(
        "prompt.kohya_shuffled_sections: unknown section '" ~ name ~ "'"
    ) }}
{%- endfor %}
{%- set kohya_head, kohya_middle, kohya_tail, after_general = [], [], [], [] %}
{%- for name in sections %}
    {%- if name == 'general' or name in kohya_shuffled %}
        {%- do kohya_middle.append(name) %}
    {%- elif after_general %}
        {%- do kohya_tail.append(name) %}
    {%- else %}
        {%- do kohya_head.append(name) %}
    {%- endif %}
    {%- if name == 'general' %}
        {%- do after_general.append(name) %}
    {%- endif %}
{%- endfor %}

with

candidates as (
    select image_id
    from {{ ref('int_training_candidates') }}
),

candidate_images as (
    select
        image_id,
        rating,
        artist,
        characters,
        copyrights,
        created_at,
        tag_confidences
    from {{ ref('images') }}
    where image_id in (select candidates.image_id from candidates)
),

score_percentiles as (
    select
        image_id,
        score_percentile
    from {{ ref('int_image_score_percentiles') }}
),

image_tag_structs as (
    select
        image_id,
        unnest(tag_confidences) as tag_confidence
    from candidate_images
),

image_tags as (
    select
        image_id,
        struct_extract(tag_confidence, 'tag') as tag,
        struct_extract(tag_confidence, 'confidence') as confidence,
        struct_extract(tag_confidence, 'category') as category,
        regexp_full_match(struct_extract(tag_confidence, 'tag'), '{{ count_pattern }}')
            as is_count_tag
    from image_tag_structs
),

count_tags as (
    select
        image_id,
        list(tag order by confidence desc, tag asc) as tags
    from image_tags
    where is_count_tag
    group by image_id
),

-- General tags, and the meta tags on the keep-list; other meta tags and the tags of the
-- artist, character and copyright sections are not general.
general_tag_candidates as (
    select
        image_id,
        tag,
        confidence,
        confidence >= {{ prompt_option('certain_confidence') }} as is_certain,
        {{ stable_uniform(['image_id', 'tag', "'" ~ prompt_option('shuffle_seed') ~ "'"]) }}
            as shuffle_key
    from image_tags
    where
        not is_count_tag
        and (
            category = 'general'
            or (
                category = 'meta'
                and list_contains({{ sql_string_list(prompt_option('keep_meta_tags')) }}, tag)
            )
        )
),

ranked_general_tags as (
    select
        image_id,
        tag,
        row_number() over (
            partition by image_id
            order by
                is_certain desc,
                case when is_certain then confidence end desc nulls last,
                case when is_certain then tag end asc nulls last,
                shuffle_key asc,
                tag asc
        ) as tag_rank
    from general_tag_candidates
),

general_tags as (
    select
        image_id,
        list(tag order by tag_rank asc) as tags
    from ranked_general_tags
    {%- if max_general_tags is not none %}
    where tag_rank <= {{ max_general_tags }}
    {%- endif %}
    group by image_id
),

-- The words of the rating, quality and year sections (NULL when the image has none).
image_words as (
    select
        candidate_images.image_id,
        {{ prompt_rating_word('candidate_images.rating') }} as rating_word,
        {{ prompt_quality_tag('score_percentiles.score_percentile') }} as quality_word,
        {{ prompt_year_tag('candidate_images.created_at') }} as year_word
    from candidate_images
    left join score_percentiles on candidate_images.image_id = score_percentiles.image_id
),

section_tags as (
    select
        candidate_images.image_id,
        {{ prompt_tag_list('count_tags.tags') }} as count_tags,
        {{ prompt_tag_list('candidate_images.characters') }} as characters_tags,
        {{ prompt_tag_list('candidate_images.copyrights') }} as copyrights_tags,
        {{ prompt_tag_list(prompt_single('candidate_images.artist')) }} as artist_tags,
        {{ prompt_tag_list('general_tags.tags') }} as general_tags,
        {{ prompt_single('image_words.rating_word') }} as rating_tags,
        {{ prompt_single('image_words.quality_word') }} as quality_tags,
        {{ prompt_single('image_words.year_word') }} as year_tags
    from candidate_images
    inner join image_words on candidate_images.image_id = image_words.image_id
    left join count_tags on candidate_images.image_id = count_tags.image_id
    left join general_tags on candidate_images.image_id = general_tags.image_id
),

prompt_parts as (
    select
        image_id,
        {{ prompt_join(sections) }} as prompt_text,
        {{ prompt_join(kohya_head) }} as kohya_head,
        {{ prompt_join(kohya_middle) }} as kohya_middle,
        {{ prompt_join(kohya_tail) }} as kohya_tail,
        [
            {%- for name in sections %}
                { 'name': '{{ name }}', 'tags': {{ name }}_tags }{{ ',' if not loop.last }}
            {%- endfor %}
        ] as sections
    from section_tags
)

select
    image_id,
    prompt_text as prompt,
    case
        when prompt_text = '' then ''
        else trim(
                kohya_head || ' {{ keep_tokens_separator }} ' || kohya_middle
                || case
                    when kohya_tail != '' then ' {{ keep_tokens_separator }} ' || kohya_tail
                    else ''
                end
            )
    end as kohya_caption,
    sections
from prompt_parts
