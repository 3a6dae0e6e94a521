"""The demo lake generator behind `dataproc demo`."""

from __future__ import annotations

from dataproc.demo.generate import generate_lake
from dataproc.demo.report import DemoReport

__all__ = ["DemoReport", "generate_lake"]
