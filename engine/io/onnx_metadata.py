"""An ONNX file's metadata, read straight from its protobuf bytes.

Listing styles needs only each model's card (``metadata_props``), and importing the ``onnx``
package costs about a second (most of ``tinystyle styles`` and of the app's start). ONNX files
are protobuf ``ModelProto`` messages: a card is field 14, repeated ``{key = 1, value = 2}``
strings, and the graph is field 7. Anything that does not parse is a ``ValueError``.
"""

from __future__ import annotations

GRAPH_FIELD, METADATA_FIELD = 7, 14
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


def read_metadata(data: bytes) -> tuple[dict[str, str], bool]:
    """(metadata_props as a dict, whether a non-empty graph is present) of a ModelProto."""
    meta: dict[str, str] = {}
    has_graph = False
    for field, value in _fields(data):
        if field == GRAPH_FIELD and isinstance(value, bytes):
            has_graph = has_graph or bool(value)
        elif field == METADATA_FIELD and isinstance(value, bytes):
            entry = {f: v for f, v in _fields(value) if isinstance(v, bytes)}
            meta[entry.get(1, b"").decode()] = entry.get(2, b"").decode()
    return meta, has_graph


def _fields(data: bytes):
    """(field number, int or bytes) for each top-level field of a protobuf message."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ValueError("field number 0")
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire == LENGTH_DELIMITED:
            size, pos = _varint(data, pos)
            if pos + size > end:
                raise ValueError("a field runs past the end")
            value, pos = data[pos:pos + size], pos + size
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if pos + size > end:
                raise ValueError("a field runs past the end")
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield field, value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
