"""The embedding threshold identity applies, calibrated from the lake's own labelled pairs.

A thin adapter over `dataproc.identity.calibration.calibrate`: reads
int_identity_calibration_pairs and returns one row saying which threshold was chosen, how
(`auto`, `fixed` or `fallback`), on how many labels, and its estimated precision and recall.
Settings arrive through `meta.settings` (see _identity__models.yml).
"""

from dataproc.config import read_settings
from dataproc.identity.calibration import CalibrationSettings, calibrate


def model(dbt, session):
    dbt.config(materialized="memoized_table")
    settings = read_settings(CalibrationSettings, dbt.config.get("meta"))
    pairs = dbt.ref("int_identity_calibration_pairs").project(
        "is_same_picture, is_cannot_link, score, split"
    )
    return calibrate(pairs.to_arrow_table(), settings).table()
