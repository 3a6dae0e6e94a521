"""Errors raised by `dataproc.export`, so callers can tell a refused publish from a bug."""

from __future__ import annotations


class ExportError(Exception):
    """A dataset version could not be published; nothing was committed."""


class InvalidRowsError(ExportError):
    """The rows to export break the export contract (missing column, null or duplicate ID, ...)."""


class VersionExistsError(ExportError):
    """The target version already holds objects; published versions are never overwritten."""


class ImageFetchError(ExportError):
    """An image's bytes could not be read from the lake at its recorded location."""
