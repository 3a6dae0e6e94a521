"""The identity guard's report: members of every component re-split for being too large.

Read from the identity state that `int_image_identity` committed to the lake.
"""

from dataproc.identity import read_splits
from dataproc.lake import lake_root


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.ref("int_image_identity")  # the report is the one that model's run committed
    return read_splits(lake_root())
