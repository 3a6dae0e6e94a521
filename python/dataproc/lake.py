"""Where the lake lives and how to reach it.

The lake root is a deployment fact (`DATAPROC_LAKE`, default `./lake`); S3 credentials and
endpoint come from the standard `AWS_*` variables. DuckDB secrets and obstore stores are both
built from `S3Settings`, so the two never disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_LAKE = "lake"


def lake_root(env: Mapping[str, str] | None = None) -> str:
    """The lake root: `DATAPROC_LAKE` or `./lake`, without a trailing slash."""
    env = os.environ if env is None else env
    return (env.get("DATAPROC_LAKE") or DEFAULT_LAKE).rstrip("/")


def is_s3(url: str) -> bool:
    return url.startswith("s3://")


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/prefix/x` -> (`bucket`, `prefix/x`)."""
    parsed = urlparse(url)
    return parsed.netloc, parsed.path.lstrip("/")


@dataclass(frozen=True)
class S3Settings:
    """S3 connection facts read from the standard AWS environment variables."""

    access_key_id: str | None
    secret_access_key: str | None
    region: str
    endpoint_url: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Settings:
        env = os.environ if env is None else env
        return cls(
            access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        )

    @property
    def use_ssl(self) -> bool:
        return self.endpoint_url is None or not self.endpoint_url.startswith("http://")

    @property
    def endpoint_host(self) -> str | None:
        """`host:port` of a custom endpoint (DuckDB wants no scheme)."""
        if self.endpoint_url is None:
            return None
        parsed = urlparse(self.endpoint_url)
        return parsed.netloc or parsed.path

    def duckdb_secret_sql(self, name: str = "dataproc_s3") -> str:
        """A `CREATE SECRET` statement for DuckDB's httpfs."""
        options = ["type s3", f"region '{self.region}'"]
        if self.access_key_id:
            options.append(f"key_id '{self.access_key_id}'")
        if self.secret_access_key:
            options.append(f"secret '{self.secret_access_key}'")
        if self.endpoint_host:
            # Custom endpoints (MinIO, moto, ...) use path-style URLs.
            options += [f"endpoint '{self.endpoint_host}'", "url_style 'path'"]
        options.append(f"use_ssl {'true' if self.use_ssl else 'false'}")
        return f"create or replace secret {name} ({', '.join(options)})"

    def obstore_config(self) -> dict[str, str]:
        config = {"region": self.region}
        if self.access_key_id:
            config["access_key_id"] = self.access_key_id
        if self.secret_access_key:
            config["secret_access_key"] = self.secret_access_key
        if self.endpoint_url:
            config["endpoint"] = self.endpoint_url
            config["virtual_hosted_style_request"] = "false"
            if not self.use_ssl:
                config["allow_http"] = "true"
        return config


def open_store(root: str, env: Mapping[str, str] | None = None):
    """An obstore store rooted at the lake (local directory or `s3://bucket/prefix`)."""
    from obstore.store import LocalStore, S3Store

    if is_s3(root):
        bucket, prefix = split_s3_url(root)
        config = S3Settings.from_env(env).obstore_config()
        return S3Store(bucket, prefix=prefix or None, config=config)
    Path(root).mkdir(parents=True, exist_ok=True)
    return LocalStore(str(Path(root).resolve()))


def httpfs_extension_path() -> Path:
    """The httpfs extension file shipped by the `duckdb-extension-httpfs` wheel."""
    import duckdb
    import duckdb_extension_httpfs

    base = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    exact = base / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if exact.exists():
        return exact
    found = sorted(base.glob("v*/httpfs.duckdb_extension"))
    if not found:
        raise FileNotFoundError(f"no httpfs.duckdb_extension under {base}")
    return found[-1]
