"""Export: publish the training dataset as immutable, self-describing versions in the lake.

`publish` writes `exports/<dataset>/v<NNNN>/` (metadata parquet, optional WebDataset shards,
and `manifest.json` last as the commit point) and points `exports/<dataset>/latest` at it.
`complete_versions` and `read_latest` tell readers what is published. See `layout` for paths,
`manifest` for the manifest fields and `publish` for the failure and concurrency rules.
"""

from dataproc.export.context import dbt_invocation_id, git_commit
from dataproc.export.errors import (
    ExportError,
    ImageFetchError,
    InvalidRowsError,
    VersionExistsError,
)
from dataproc.export.publish import ExportResult, publish, write_version
from dataproc.export.rows import DEFAULT_IMAGE_COLUMNS, IMAGE_EXTENSIONS
from dataproc.export.settings import ExportSettings, config_snapshot
from dataproc.export.versions import complete_versions, plan_version, read_latest

__all__ = [
    "DEFAULT_IMAGE_COLUMNS",
    "IMAGE_EXTENSIONS",
    "ExportError",
    "ExportResult",
    "ExportSettings",
    "ImageFetchError",
    "InvalidRowsError",
    "VersionExistsError",
    "complete_versions",
    "config_snapshot",
    "dbt_invocation_id",
    "git_commit",
    "plan_version",
    "publish",
    "read_latest",
    "write_version",
]
