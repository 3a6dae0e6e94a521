"""The export dbt Python model as dbt-duckdb calls it: `model(dbt, session)` with ref and meta."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import duckdb
import pyarrow as pa
from dataproc.lake import Lake
from test_export_lakes import write_export_lake

MODEL_FILE = Path(__file__).resolve().parents[1] / "models" / "exports" / "export_dataset.py"


def _load_model() -> ModuleType:
    spec = importlib.util.spec_from_file_location("export_dataset", MODEL_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Config:
    """dbt's `dbt.config`: callable to set config, `.get` to read it."""

    def __init__(self, meta: dict) -> None:
        self.values = {"meta": meta}

    def __call__(self, **kwargs) -> None:
        self.values.update(kwargs)

    def get(self, key: str, default=None):
        return self.values.get(key, default)


class _Dbt:
    def __init__(self, relations: dict, meta: dict) -> None:
        self.relations = relations
        self.config = _Config(meta)

    def ref(self, name: str):
        return self.relations[name]


def _build_relations(session: duckdb.DuckDBPyConnection) -> dict:
    """The relations the model reads: the export rows, and the few rows of the build's other
    tables that the version's report and manifest need."""
    return {
        # export_rows' columns that the report reads beyond what publishing needs
        "export_rows": session.sql(
            "select *, ['danbooru'] as sources, member_keys[1] as best_image_key, "
            "sections.general as tags "
            "from export_rows_arrow"
        ),
        "funnel": session.sql(
            "select 1 as step, 'all' as source, 'exported images' as stage, "
            "'images' as unit, 7::bigint as n"
        ),
        "rejections": session.sql(
            "select null::varchar as image_key, null::varchar as source, null::varchar as stage, "
            "null::varchar as reason, null::varchar as detail limit 0"
        ),
        "images": session.sql(
            "select image_id, 1 as n_members, [image_id] as member_keys from export_rows_arrow"
        ),
        "int_image_files": session.sql(
            'select null::varchar as image_key, null::varchar as uri, null::bigint as "offset", '
            "null::bigint as length limit 0"
        ),
        "identity_calibration": session.sql(
            "select 'fixed' as threshold_mode, 0.985::double as threshold, null::double as "
            "target_precision, 0 as positive_pairs, 0 as negative_pairs, null::double as "
            "estimated_precision, null::double as estimated_recall, 'none' as label_source"
        ),
    }


def test_model_publishes_export_rows_with_meta_settings(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    built = write_export_lake(Lake(str(lake)))
    monkeypatch.setenv("DATAPROC_LAKE", str(lake))
    settings = {
        "export_dataset": "anime",
        "export_layouts": ["webdataset"],
        "export_image_format": "original",
        "export_shard_size": 5,
        "export_rows_per_part": 100000,
        "pipeline_vars": {"merge_seed": 0},
    }
    meta = {"settings": json.dumps(settings)}
    session = duckdb.connect()
    session.register("export_rows_arrow", built.rows)
    dbt = _Dbt(_build_relations(session), meta)

    result = _load_model().model(dbt, session)

    assert dbt.config.get("materialized") == "table"
    assert isinstance(result, pa.Table)
    assert result.to_pylist() == [
        {
            "dataset": "anime",
            "status": "published",
            "version": "v0001",
            "parent_version": None,
            "rows": 7,
            "files": 5,  # one parquet part, two shards, report.html and stats.json
            "manifest_path": f"{lake}/exports/anime/v0001/manifest.json",
            "notes": None,
        }
    ]
    manifest = json.loads((lake / "exports" / "anime" / "v0001" / "manifest.json").read_text())
    assert manifest["config"] == {
        "dataset": "anime",
        "layouts": ["webdataset"],
        "image_format": "original",
        "image_quality": 95,
        "shard_size": 5,
        "kohya_repeats": 1,
        "rows_per_part": 100000,
        "abandoned_after_hours": 24.0,
        "pipeline_vars": {"merge_seed": 0},
    }
    assert manifest["layout"]["shard_size"] == 5
    assert manifest["dbt_invocation_id"]
    assert manifest["identity_calibration"]["threshold"] == 0.985
    assert (lake / "exports" / "anime" / "v0001" / "report.html").exists()

    # An unchanged rebuild publishes nothing, and its row says so.
    again = _load_model().model(dbt, session).to_pylist()[0]
    assert (again["status"], again["version"], again["rows"]) == ("unchanged", "v0001", 7)
    assert sorted(p.name for p in (lake / "exports" / "anime").iterdir()) == ["latest", "v0001"]
