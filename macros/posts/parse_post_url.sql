{#- URL forms that name one post on a site this project reads.

    Each entry: `source` (the site the URL points at), `host` (text the lowercased URL must
    contain: a cheap test that spares most URLs the regexes), `match` (regexes that must all match
    the lowercased URL), `post_id` (regex whose first group is the site's post id) and optionally
    `page` (regex whose first group is a pixiv page number). The regexes are RE2. -#}
{% macro post_url_patterns() -%}
    {{ return([
        {
            'source': 'pixiv',
            'name': 'pixiv image file (img-original, img-master, custom-thumb)',
            'host': 'pximg.net',
            'match': ['^https?://i(-[a-z]+)?\\.pximg\\.net/.*/[0-9]+_p[0-9]+[^/]*\\.[a-z0-9]+'],
            'post_id': '/([0-9]+)_p[0-9]+[^/]*\\.[a-z0-9]+',
            'page': '/[0-9]+_p([0-9]+)[^/]*\\.[a-z0-9]+',
        },
        {
            'source': 'pixiv',
            'name': 'pixiv artwork page',
            'host': 'pixiv.net',
            'match': ['^https?://(www\\.)?pixiv\\.net/([a-z]{2}/)?(artworks|i)/[0-9]+'],
            'post_id': '/(?:artworks|i)/([0-9]+)',
        },
        {
            'source': 'pixiv',
            'name': 'pixiv member_illust.php',
            'host': 'pixiv.net',
            'match': ['^https?://(www\\.)?pixiv\\.net/member_illust\\.php\\?', '[?&]illust_id=[0-9]+'],
            'post_id': '[?&]illust_id=([0-9]+)',
            'page': '[?&]page=([0-9]+)',
        },
        {
            'source': 'danbooru',
            'name': 'danbooru post page',
            'host': 'donmai.us',
            'match': ['^https?://([a-z]+\\.)?donmai\\.us/(posts|post/show)/[0-9]+'],
            'post_id': '/(?:posts|post/show)/([0-9]+)',
        },
        {
            'source': 'gelbooru',
            'name': 'gelbooru post page',
            'host': 'gelbooru.com',
            'match': [
                '^https?://(www\\.)?gelbooru\\.com/index\\.php\\?',
                '[?&]page=post([&#]|$)',
                '[?&]s=view([&#]|$)',
                '[?&]id=[0-9]+',
            ],
            'post_id': '[?&]id=([0-9]+)',
        },
        {
            'source': 'yandere',
            'name': 'yande.re post page',
            'host': 'yande.re',
            'match': ['^https?://(www\\.)?yande\\.re/post/show/[0-9]+'],
            'post_id': '/post/show/([0-9]+)',
        },
        {
            'source': 'zerochan',
            'name': 'zerochan post page',
            'host': 'zerochan.net',
            'match': ['^https?://(www\\.)?zerochan\\.net/[0-9]+([/?#]|$)'],
            'post_id': 'zerochan\\.net/([0-9]+)',
        },
    ]) }}
{%- endmacro %}


{#- The post a URL names, as STRUCT(target_source varchar, target_post_id bigint, target_page
    integer), or NULL when the URL matches none of `post_url_patterns()`. `target_page` is set
    only when the URL names a pixiv page (`_p<N>` file names, `page=` in member_illust.php). -#}
{% macro parse_post_url(url) -%}
    {%- set normalized = 'lower(trim(' ~ url ~ '))' -%}
    case
    {%- for pattern in post_url_patterns() %}
        when
            contains({{ normalized }}, '{{ pattern["host"] }}')
            {%- for regex in pattern['match'] %}
            and regexp_matches({{ normalized }}, '{{ regex }}')
            {%- endfor %}
            then {
                'target_source': '{{ pattern["source"] }}',
                'target_post_id': try_cast(regexp_extract({{ normalized }}, '{{ pattern["post_id"] }}', 1) as bigint),
                'target_page': {% if pattern.get('page') -%}
                    try_cast(nullif(regexp_extract({{ normalized }}, '{{ pattern["page"] }}', 1), '') as integer)
                {%- else -%}
                    cast(null as integer)
                {%- endif %}
            }
    {%- endfor %}
    end
{%- endmacro %}
