{#- weighted_pick in sample mode draws values in proportion to their summed weights, repeats
    exactly with the same seed and draws differently with another seed.

    2,000 images each get the votes a = 1, b = 2 (two sources of 1) and c = 7, so the expected
    shares are 10%, 20% and 70%. A count more than 4 standard deviations (binomial) from its
    expectation fails; the draws are md5-derived, hence the same on every run, so this cannot
    flake. The same seed must reproduce every pick, and seed 2 must change roughly
    1 - (0.1^2 + 0.2^2 + 0.7^2) = 46% of them (at least a third is required). Returns one row per
    failed check.

    A test of the macro, not of the data: the default selector (selectors.yml) leaves it out of
    `dbt build`, and pytest runs it (tests/test_merge_weighted_pick.py). -#}
{{ config(tags=['macro_selftest']) }}
{%- set n_images = 2000 -%}
with

votes as (
    select
        'image_' || images.i as image_id,
        weights.value,
        weights.weight::decimal(9, 4) as weight
    from range({{ n_images }}) as images (i)
    cross join (
        values ('a', 1), ('b', 1), ('b', 1), ('c', 7)
    ) as weights (value, weight)
),

draws_seed_1 as (
    {{ weighted_pick('votes', 'rating', mode='sample', seed=1) }}
),

draws_seed_1_again as (
    {{ weighted_pick('votes', 'rating', mode='sample', seed=1) }}
),

draws_seed_2 as (
    {{ weighted_pick('votes', 'rating', mode='sample', seed=2) }}
),

expected_shares as (
    select
        expectations.drawn_value,
        expectations.expected_share
    from (values ('a', 0.1), ('b', 0.2), ('c', 0.7)) as expectations (drawn_value, expected_share)
),

observed_counts as (
    select
        expected_shares.drawn_value,
        expected_shares.expected_share,
        count(draws_seed_1.image_id) as n_drawn
    from expected_shares
    left join draws_seed_1 on expected_shares.drawn_value = draws_seed_1.value
    group by expected_shares.drawn_value, expected_shares.expected_share
),

proportion_failures as (
    select
        'value ' || drawn_value || ' drawn ' || n_drawn || ' times, expected about '
        || ({{ n_images }} * expected_share)::integer as failure
    from observed_counts
    where
        abs(n_drawn - {{ n_images }} * expected_share)
        > 4 * sqrt({{ n_images }} * expected_share * (1 - expected_share))
),

pairs as (
    select
        draws_seed_1.image_id,
        draws_seed_1.value as value_1,
        draws_seed_1_again.value as value_1_again,
        draws_seed_2.value as value_2
    from draws_seed_1
    full outer join draws_seed_1_again on draws_seed_1.image_id = draws_seed_1_again.image_id
    full outer join draws_seed_2 on draws_seed_1.image_id = draws_seed_2.image_id
),

pair_summary as (
    select
        count(*) as n_pairs,
        count(*) filter (where value_1 is distinct from value_1_again) as n_not_repeated,
        count(*) filter (where value_1 is distinct from value_2) as n_changed_by_seed
    from pairs
),

repeat_failures as (
    select 'one pick per image expected, got ' || n_pairs || ' rows' as failure
    from pair_summary
    where n_pairs != {{ n_images }}
    union all
    select n_not_repeated || ' picks differ between two runs with the same seed'
    from pair_summary
    where n_not_repeated > 0
    union all
    select 'only ' || n_changed_by_seed || ' picks changed with another seed'
    from pair_summary
    where n_changed_by_seed < {{ n_images }} / 3
)

select failure from proportion_failures
union all
select failure from repeat_failures
