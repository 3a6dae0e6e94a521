"""Metric scales: the demo lake's scores fit the registry, so its build warns about none.

(The warning itself, for 0-1 aesthetic scores against a 0-10 scale, is the dbt unit test
`metric_definitions_warn_when_values_contradict_the_scale`.)
"""

from __future__ import annotations

from conftest import DbtProject


def test_the_demo_metrics_fit_their_declared_scales(demo_build: DbtProject) -> None:
    checked = demo_build.query(
        """
        select metric, observed_min >= scale_min and observed_max <= scale_max, scale_warning
        from intermediate.int_metric_definitions
        where threshold is not null
        order by metric
        """
    )
    assert checked == [("aesthetic", True, None), ("watermark", True, None)]
