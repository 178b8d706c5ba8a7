"""The zip archives of 1C's exchange read safely: XML members listed with safe names, pictures
skipped, the file 1C asks for found, names that would escape a folder refused, bombs stopped
(up front by their headers, and while reading when the headers lie) with memory staying flat,
broken archives refused, and a real CommerceML export read through an archive exactly as from
its file."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from mappings.archive import (
    Limits,
    Member,
    ZipBomb,
    ZipBroken,
    ZipTooLarge,
    ZipUnsafeName,
    find_member,
    is_zip,
    list_archive,
    open_member,
    safe_name,
    xml_members,
)
from mappings.commerceml import read
from processing.errors import InvalidInput

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "commerceml"
IMPORT = FIXTURES / "import-2.03-official-sample.xml"
OFFERS = FIXTURES / "offers-2.03-official-sample.xml"
MiB = 1024**2


def _zip(entries: Iterable[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    buffer.seek(0)
    return buffer


def _zeros_zip(name: str, megabytes: int) -> io.BytesIO:
    """An XML-looking member of ``megabytes`` MiB of blanks, written in chunks: the test never
    holds more than one MiB of it."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w") as member,
    ):
        member.write(b"<a>")
        chunk = b" " * MiB
        for _ in range(megabytes):
            member.write(chunk)
        member.write(b"</a>")
    buffer.seek(0)
    return buffer


def _with_slack(buffer: io.BytesIO, slack: int) -> io.BytesIO:
    """The archive with ``slack`` zero bytes before its central directory, which its first
    entry declares as its own compressed data: the declared ratio shrinks, the data does not."""
    data = bytearray(buffer.getvalue())
    end, directory = _directory(data)
    compressed = struct.unpack_from("<I", data, directory + 20)[0]
    struct.pack_into("<I", data, directory + 20, compressed + slack)
    struct.pack_into("<I", data, end + 16, directory + slack)
    return io.BytesIO(bytes(data[:directory] + bytes(slack) + data[directory:]))


def _directory(data: bytearray) -> tuple[int, int]:
    """The end-of-central-directory record's offset and the central directory's offset."""
    end = data.rfind(b"PK\x05\x06")
    return end, struct.unpack_from("<I", data, end + 16)[0]


def _patch_first_entry(buffer: io.BytesIO, offset: int, value: int) -> io.BytesIO:
    """Overwrite a 4-byte field of the central directory's first entry (20: compressed size,
    24: uncompressed size, 42: local header offset)."""
    data = bytearray(buffer.getvalue())
    _, directory = _directory(data)
    struct.pack_into("<I", data, directory + offset, value)
    return io.BytesIO(bytes(data))


def test_members_listed_with_safe_names_pictures_and_directories_skipped() -> None:
    upload = _zip(
        [
            ("1/", b""),
            ("1/import0_1.xml", IMPORT.read_bytes()),
            ("1/OFFERS0_1.XML", OFFERS.read_bytes()),
            ("import_files/ab/ab12.jpg", b"\xff\xd8\xff" + bytes(500)),
            ("import_files/ab/ab13.png", b"\x89PNG" + bytes(500)),
            ("./2//rests.xml", b"<a/>"),
            ("3\\prices.xml", b"<a/>"),  # a Windows zipper's separator
        ]
    )

    listing = list_archive(upload, Limits())

    assert [member.name for member in listing.members] == [
        "1/import0_1.xml",
        "1/OFFERS0_1.XML",
        "2/rests.xml",
        "3/prices.xml",
    ]
    assert listing.skipped == 2
    first = listing.members[0]
    assert first.size == IMPORT.stat().st_size
    assert 0 < first.compressed_size < first.size
    assert xml_members(upload, Limits()) == listing.members


def test_is_zip_reads_the_magic_and_keeps_the_position() -> None:
    upload = _zip([("import.xml", b"<a/>")])
    upload.seek(7)
    assert is_zip(upload)
    assert upload.tell() == 7
    plain = io.BytesIO(IMPORT.read_bytes())
    assert not is_zip(plain)
    assert plain.tell() == 0
    assert not is_zip(io.BytesIO(b""))


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/x.xml",
        "C:\\x.xml",
        "C:x.xml",
        "..\\x.xml",
        "1\\..\\..\\x.xml",
        "\\\\server\\share\\x.xml",
        "1/../../x.xml",
        "import.xml:stream",
        "1/\nimport.xml",
    ],
)
def test_a_name_escaping_its_folder_refuses_the_archive(name: str) -> None:
    upload = _zip([("import.xml", b"<a/>"), (name, b"<a/>")])

    with pytest.raises(ZipUnsafeName) as refused:
        xml_members(upload, Limits())

    assert refused.value.code == "EXCHANGE_ZIP_UNSAFE_NAME"
    assert refused.value.details["name"] == name
    assert "недопустимое имя" in refused.value.text


def test_a_name_with_a_nul_byte_refuses_the_archive() -> None:
    """zipfile cuts a name at NUL (``x.xml\\0.jpg`` reads as ``x.xml``); the raw name is judged."""
    data = _zip([("import.xml", b"<a/>"), ("pics.xml#.jpg", b"\xff\xd8")]).getvalue()
    upload = io.BytesIO(data.replace(b"pics.xml#.jpg", b"pics.xml\x00.jpg"))

    with pytest.raises(ZipUnsafeName) as refused:
        xml_members(upload, Limits())

    assert refused.value.details["name"] == "pics.xml\x00.jpg"


def test_an_unsafe_name_refuses_even_when_opening_a_listed_member() -> None:
    good = _zip([("import.xml", b"<a/>")])
    member = xml_members(good, Limits())[0]
    evil = _zip([("import.xml", b"<a/>"), ("../import.xml", b"<b/>")])

    with pytest.raises(ZipUnsafeName):
        open_member(evil, member, Limits())


def test_safe_name_normalises_separators_and_dots() -> None:
    assert safe_name("1\\import0_1.xml") == "1/import0_1.xml"
    assert safe_name("./1//./import.xml") == "1/import.xml"
    with pytest.raises(ZipUnsafeName):
        safe_name("./")


def _members(*names: str) -> list[Member]:
    return [Member(name, 1, 1, index) for index, name in enumerate(names)]


def test_find_member_exact_path_first_then_a_unique_base_name() -> None:
    members = _members("import.xml", "1/import.xml", "1/import0_1.xml", "2/offers.xml")

    assert find_member(members, "import.xml") == members[0]
    assert find_member(members, "1/import.xml") == members[1]
    assert find_member(members, "1\\import.xml") == members[1]
    assert find_member(members, "import0_1.xml") == members[2]
    assert find_member(members, "offers.xml") == members[3]
    assert find_member(members, "rests.xml") is None
    assert find_member(members, "../import.xml") is None


def test_find_member_ambiguous_base_name_is_none() -> None:
    members = _members("1/offers0_1.xml", "2/offers0_1.xml")

    assert find_member(members, "offers0_1.xml") is None
    assert find_member(members, "2/offers0_1.xml") == members[1]


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_real_export_reads_through_the_archive_as_from_its_file(method: int) -> None:
    upload = _zip(
        [
            ("import_files/pic.jpg", b"\xff\xd8\xff" + bytes(100)),
            ("1/import0_1.xml", IMPORT.read_bytes()),
            ("1/offers0_1.xml", OFFERS.read_bytes()),
        ],
        method,
    )
    members = xml_members(upload, Limits())

    for filename, fixture in [("import0_1.xml", IMPORT), ("offers0_1.xml", OFFERS)]:
        member = find_member(members, filename)
        assert member is not None
        with open_member(upload, member, Limits()) as stream:
            records = list(read(stream))
        assert records == list(read(str(fixture)))
        assert len(records) > 2


def test_open_member_keeps_the_upload_open() -> None:
    upload = _zip([("import.xml", IMPORT.read_bytes())])
    member = xml_members(upload, Limits())[0]

    with open_member(upload, member, Limits()) as stream:
        assert stream.read() == IMPORT.read_bytes()
    assert not upload.closed
    with open_member(upload, member, Limits()) as again:
        assert again.read(5) == IMPORT.read_bytes()[:5]


def test_a_bomb_is_refused_by_its_declared_sizes() -> None:
    upload = _zeros_zip("import.xml", 200)  # 200 MiB of blanks in ~200 KB
    assert len(upload.getvalue()) < 400 * 1024

    with pytest.raises(ZipBomb) as refused:
        xml_members(upload, Limits())

    assert refused.value.code == "EXCHANGE_ZIP_BOMB"
    assert refused.value.details["member"] == "import.xml"
    assert refused.value.details["ratio"] > 200


def test_a_bomb_whose_header_lies_is_stopped_while_reading_with_flat_memory() -> None:
    """The central directory declares a compressed size padded with slack bytes so that the
    declared ratio passes; the member's stream counts the compressed bytes really read."""
    lying = _with_slack(_zeros_zip("import.xml", 64), 400_000)
    member = xml_members(lying, Limits())[0]  # declared ratio 64 MiB / ~460 KB passes
    assert member.size > 64 * MiB

    tracemalloc.start()
    try:
        stream = open_member(lying, member, Limits())
        handed_out = 0
        with pytest.raises(ZipBomb) as refused:
            while data_read := stream.read(64 * 1024):
                handed_out += len(data_read)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert refused.value.details["ratio"] >= 200
    assert handed_out < 32 * MiB  # stopped well before the member's end
    assert peak < 4 * MiB


def test_a_small_file_of_blanks_passes_the_ratio_under_the_grace() -> None:
    blanks = b"<a>" + b" " * (512 * 1024) + b"</a>"
    upload = _zip([("import.xml", blanks)])
    member = xml_members(upload, Limits())[0]
    assert member.size > 200 * member.compressed_size

    assert open_member(upload, member, Limits()).read() == blanks
    with pytest.raises(ZipBomb):
        xml_members(upload, Limits(ratio_grace_bytes=64 * 1024))


def test_a_lying_bomb_is_stopped_inside_the_commerceml_reader() -> None:
    lying = _with_slack(_zeros_zip("import.xml", 64), 400_000)
    member = xml_members(lying, Limits())[0]

    with pytest.raises(ZipBomb):
        list(read(open_member(lying, member, Limits())))


def test_a_header_declaring_fewer_bytes_than_the_data_stops_at_the_declared_size() -> None:
    upload = _zeros_zip("import.xml", 200)
    lying = _patch_first_entry(upload, 24, 256 * 1024)  # the CD says 256 KB
    member = xml_members(lying, Limits())[0]
    assert member.size == 256 * 1024

    stream = open_member(lying, member, Limits())
    handed_out = 0
    with pytest.raises(ZipBroken) as refused:  # the bytes stop there and the CRC disagrees
        while data_read := stream.read(64 * 1024):
            handed_out += len(data_read)

    assert handed_out <= 256 * 1024
    assert refused.value.code == "EXCHANGE_ZIP_BROKEN"
    assert "CRC" in refused.value.details["reason"]


def test_a_member_declared_over_the_size_cap_is_refused_up_front() -> None:
    upload = _zip([("import.xml", IMPORT.read_bytes())])
    limits = Limits(max_member_bytes=1000)

    with pytest.raises(ZipTooLarge) as refused:
        xml_members(upload, limits)

    assert refused.value.code == "EXCHANGE_ZIP_TOO_LARGE"
    assert refused.value.details["limit"] == 1000
    member = xml_members(upload, Limits())[0]
    with pytest.raises(ZipTooLarge):
        open_member(upload, member, limits)


def test_too_many_entries_or_too_many_bytes_in_total() -> None:
    upload = _zip([(f"import_files/{n}.jpg", b"x") for n in range(11)] + [("a.xml", b"<a/>")])
    with pytest.raises(ZipTooLarge) as refused:
        xml_members(upload, Limits(max_members=10))
    assert refused.value.details == {"members": 12, "limit": 10}

    two = _zip([("import.xml", bytes(600)), ("offers.xml", bytes(600))], zipfile.ZIP_STORED)
    assert len(xml_members(two, Limits(max_total_bytes=1200))) == 2
    with pytest.raises(ZipTooLarge) as refused:
        xml_members(two, Limits(max_total_bytes=1199))
    assert refused.value.details == {"total_bytes": 1200, "limit": 1199}


def test_overlapping_entries_are_a_bomb_on_every_python() -> None:
    """Two entries pointing at the same data: the non-recursive zip bomb's trick. Newer zipfile
    releases refuse it only when the entry is opened; the listing refuses it already."""
    upload = _zip([("import.xml", b"<a>" + bytes(5000) + b"</a>"), ("offers.xml", b"<b/>")])
    data = bytearray(upload.getvalue())
    _, directory = _directory(data)
    second = data.find(b"PK\x01\x02", directory + 4)
    struct.pack_into("<I", data, second + 42, 0)  # offers.xml's local header: import.xml's

    with pytest.raises(ZipBomb) as refused:
        xml_members(io.BytesIO(bytes(data)), Limits())

    assert refused.value.details["reason"] == "overlap"


@pytest.mark.parametrize(
    "upload",
    [
        io.BytesIO(b""),
        io.BytesIO(b"PK\x03\x04" + bytes(range(256)) * 4),
        io.BytesIO(IMPORT.read_bytes()),
        io.BytesIO(_zip([("import.xml", IMPORT.read_bytes())]).getvalue()[:-30]),
        io.BytesIO(_zip([("import.xml", IMPORT.read_bytes())]).getvalue()[:500]),
    ],
    ids=["empty", "garbage", "plain-xml", "truncated-end", "truncated-half"],
)
def test_not_a_zip_or_a_truncated_one_is_broken(upload: io.BytesIO) -> None:
    with pytest.raises(ZipBroken) as refused:
        xml_members(upload, Limits())

    assert refused.value.code == "EXCHANGE_ZIP_BROKEN"
    assert refused.value.text == "Архив обмена повреждён: выгрузите заново."


def test_corrupt_member_data_is_broken_while_reading() -> None:
    content = IMPORT.read_bytes()
    upload = _zip([("import.xml", content)], zipfile.ZIP_STORED)
    data = bytearray(upload.getvalue())
    middle = data.find(content[1000:1040])
    data[middle] ^= 0xFF
    corrupt = io.BytesIO(bytes(data))
    member = xml_members(corrupt, Limits())[0]

    with pytest.raises(ZipBroken) as refused:
        open_member(corrupt, member, Limits()).read()

    assert refused.value.details["member"] == "import.xml"


def test_corrupt_deflate_stream_is_broken() -> None:
    upload = _zip([("import.xml", IMPORT.read_bytes())])
    data = bytearray(upload.getvalue())
    start = 30 + len("import.xml")
    data[start : start + 40] = b"\xff" * 40
    corrupt = io.BytesIO(bytes(data))
    member = xml_members(corrupt, Limits())[0]

    with pytest.raises(ZipBroken):
        open_member(corrupt, member, Limits()).read()


def test_an_encrypted_member_is_broken_with_its_own_message() -> None:
    data = bytearray(_zip([("import.xml", b"<a/>")]).getvalue())
    _, directory = _directory(data)
    struct.pack_into("<H", data, directory + 8, 0x1)  # general purpose flags: encrypted

    with pytest.raises(ZipBroken) as refused:
        xml_members(io.BytesIO(bytes(data)), Limits())

    assert refused.value.details["reason"] == "encrypted"
    assert "паролем" in refused.value.text


def test_a_bzip2_member_is_refused_a_bzip2_picture_is_skipped() -> None:
    upload = _zip([("import.xml", b"<a/>")], zipfile.ZIP_BZIP2)
    with pytest.raises(ZipBroken) as refused:
        xml_members(upload, Limits())
    assert refused.value.details["reason"] == "compression"
    assert "Deflate" in refused.value.text

    pictures = _zip([("pic.jpg", bytes(100))], zipfile.ZIP_BZIP2)
    assert list_archive(pictures, Limits()).skipped == 1


def test_an_empty_archive_has_no_members() -> None:
    upload = _zip([])

    assert is_zip(upload)
    assert xml_members(upload, Limits()) == []
    assert find_member([], "import.xml") is None


def test_every_error_is_invalid_input_with_its_stable_code() -> None:
    assert [cls().code for cls in (ZipUnsafeName, ZipTooLarge, ZipBomb, ZipBroken)] == [
        "EXCHANGE_ZIP_UNSAFE_NAME",
        "EXCHANGE_ZIP_TOO_LARGE",
        "EXCHANGE_ZIP_BOMB",
        "EXCHANGE_ZIP_BROKEN",
    ]
    assert all(
        issubclass(cls, InvalidInput) for cls in (ZipUnsafeName, ZipTooLarge, ZipBomb, ZipBroken)
    )
