"""The exchange's stored files read back as streams: bytes, seeks and the SHA-256 on the way."""

from __future__ import annotations

import hashlib
import io
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.exchange import ChunkReader, buffered, safe_name


def reader_of(pieces: list[bytes]) -> ChunkReader:
    return ChunkReader(7, [len(p) for p in pieces], lambda file_id, seq: pieces[seq])


@settings(max_examples=80, deadline=None)
@given(
    pieces=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=12),
    reads=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 500)), max_size=8),
)
def test_any_reads_and_seeks_give_the_bytes_and_the_whole_files_sha256(
    pieces: list[bytes], reads: list[tuple[int, int]]
) -> None:
    data = b"".join(pieces)
    raw = reader_of(pieces)
    stream = buffered(raw)
    for offset, size in reads:
        stream.seek(offset)
        assert stream.read(size) == data[offset : offset + size]
    assert raw.sha256() == hashlib.sha256(data).hexdigest()
    stream.seek(0)
    assert stream.read() == data


def test_a_zip_is_read_through_the_stored_chunks() -> None:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("1/import.xml", "<КоммерческаяИнформация/>" * 500)
    data = packed.getvalue()
    pieces = [data[i : i + 97] for i in range(0, len(data), 97)]
    raw = reader_of(pieces)
    with zipfile.ZipFile(buffered(raw)) as archive:
        assert archive.read("1/import.xml").decode() == "<КоммерческаяИнформация/>" * 500
    assert raw.sha256() == hashlib.sha256(data).hexdigest()


def test_names_are_normalised_never_paths() -> None:
    assert safe_name(" import_files\\ab/./c.jpg ") == "import_files/ab/c.jpg"
    assert safe_name("offers0_1.xml") == "offers0_1.xml"
