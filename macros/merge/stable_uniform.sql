{#- A number in [0, 1) that depends only on the given SQL expressions.

    The parts are joined with '|' and hashed with md5; the first 52 bits of the digest divided
    by 2^52 give the number. md5 is the same on every DuckDB version and machine (DuckDB's own
    `hash()` is not promised to be), so draws made with it reproduce anywhere. In Python:
    `int(hashlib.md5("|".join(parts).encode()).hexdigest()[:13], 16) / 2**52`. -#}
{% macro stable_uniform(parts) -%}
    (('0x' || left(md5(concat_ws('|', {{ parts | join(', ') }})), 13))::ubigint::double
    / 4503599627370496.0)
{%- endmacro %}
