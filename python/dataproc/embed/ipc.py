"""Arrow IPC stream bytes: the sidecar's wire format."""

from __future__ import annotations

import pyarrow as pa

ARROW_STREAM_MEDIA_TYPE = "application/vnd.apache.arrow.stream"


def table_to_ipc(table: pa.Table) -> bytes:
    """Serialize a table as one Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def ipc_to_table(data: bytes) -> pa.Table:
    """Read a whole Arrow IPC stream into a table."""
    with pa.ipc.open_stream(pa.BufferReader(data)) as reader:
        return reader.read_all()
