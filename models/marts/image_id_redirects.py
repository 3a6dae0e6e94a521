"""Retired image IDs and the live image ID each now resolves to.

Read from the identity state that `int_image_identity` committed to the lake.
"""

from dataproc.identity import read_redirects
from dataproc.lake import lake_root


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.ref("int_image_identity")  # redirects are the ones that model's run committed
    return read_redirects(lake_root())
