{#- The options a prompt preset sets (`prompt_preset`): the section order, the quality tags
    with their score-percentile cut-offs, and the year buckets, as the model card of each model
    describes its training captions (models/marts/_prompts__models.yml names the cards). They
    replace those of `prompt_defaults`, and the `prompt` var overrides both; no preset (null)
    keeps those of `prompt_defaults`. -#}
{% macro prompt_preset_options(name) -%}
    {#- Illustrious's card names no year tags: it takes Animagine's. -#}
    {%- set animagine_years = [
        {'tag': 'newest', 'min_year': 2021},
        {'tag': 'recent', 'min_year': 2018},
        {'tag': 'mid', 'min_year': 2015},
        {'tag': 'early', 'min_year': 2011},
        {'tag': 'oldest', 'min_year': none},
    ] -%}
    {%- set presets = {
        'animagine-4': {
            'sections': ['count', 'characters', 'copyrights', 'rating', 'artist', 'general',
                'year', 'quality'],
            'quality_tags': [
                {'tag': 'masterpiece', 'above': 0.95},
                {'tag': 'high score', 'above': 0.85},
                {'tag': 'great score', 'above': 0.75},
                {'tag': 'good score', 'above': 0.5},
                {'tag': 'average score', 'above': 0.25},
                {'tag': 'bad score', 'above': 0.1},
                {'tag': 'low score', 'above': none},
            ],
            'year_tags': animagine_years,
        },
        'noobai': {
            'sections': ['count', 'characters', 'copyrights', 'artist', 'quality', 'year',
                'rating', 'general'],
            'quality_tags': [
                {'tag': 'masterpiece', 'above': 0.95},
                {'tag': 'best quality', 'above': 0.85},
                {'tag': 'good quality', 'above': 0.6},
                {'tag': 'normal quality', 'above': 0.3},
                {'tag': 'worst quality', 'above': none},
            ],
            'year_tags': [
                {'tag': 'newest', 'min_year': 2021},
                {'tag': 'recent', 'min_year': 2018},
                {'tag': 'mid', 'min_year': 2014},
                {'tag': 'early', 'min_year': 2011},
                {'tag': 'old', 'min_year': none},
            ],
        },
        'illustrious': {
            'sections': ['count', 'characters', 'copyrights', 'artist', 'general', 'rating',
                'year', 'quality'],
            'quality_tags': [
                {'tag': 'masterpiece', 'above': 0.95},
                {'tag': 'best quality', 'above': 0.85},
                {'tag': 'good quality', 'above': 0.6},
                {'tag': 'average quality', 'above': 0.3},
                {'tag': 'bad quality', 'above': 0.1},
                {'tag': 'worst quality', 'above': none},
            ],
            'year_tags': animagine_years,
        },
    } -%}
    {%- if name is none -%}
        {{ return({}) }}
    {%- endif -%}
    {%- if name not in presets -%}
        {{ exceptions.raise_compiler_error(
            "prompt_preset: unknown preset '" ~ name ~ "' (known: "
            ~ presets.keys() | sort | join(', ') ~ ", or null for the `prompt` var alone)"
        ) }}
    {%- endif -%}
    {{ return(presets[name]) }}
{%- endmacro %}
