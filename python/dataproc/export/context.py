"""Facts about the run that publishes: the dbt invocation id and the project's git commit."""

from __future__ import annotations

import subprocess
from pathlib import Path


def dbt_invocation_id() -> str | None:
    """The id of the dbt invocation running now, or None when dbt is not importable.

    dbt-duckdb runs Python models inside dbt's own process, where dbt keeps the id in
    `dbt_common.invocation` (the same id as in `run_results.json`). dbt's Python model context
    offers no `invocation_id`, and rendering it into YAML config would go stale under partial
    parsing. Call this from inside a dbt run only: elsewhere the module holds an unrelated id.
    """
    try:
        from dbt_common.invocation import get_invocation_id
    except ImportError:
        return None
    return get_invocation_id()


def git_commit(directory: str | Path | None = None) -> str | None:
    """`git rev-parse HEAD` in `directory` (default: the working directory), or None when git
    or a repository is not available."""
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and commit else None
