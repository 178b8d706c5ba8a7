"""Safe reading of the zip archives 1C uploads in the CommerceML exchange (``init`` answered
``zip=yes``): which XML files an archive holds, which one 1C means by ``mode=import&filename=``,
and a stream of one member's bytes for ``mappings.commerceml.read``.

Nothing is ever extracted to disk: an entry's name is only an identity, yet a name that would
escape a folder (``..``, an absolute path, a drive letter, a backslash path, control characters)
refuses the whole archive, as does an archive whose entries overlap (the non-recursive zip bomb).
The headers' sizes are checked up front and never trusted alone: the member's stream counts the
bytes it hands out and the compressed bytes actually read from the upload, and stops at the
per-member cap or the compression-ratio cap while reading, before the bytes pile up.

Only stored and deflated members are read: ``zipfile`` decompresses bzip2 and LZMA without an
output bound (one 4 KB read of bzip2 can expand to gigabytes before any check could run).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

from processing.errors import InvalidInput

_LOCAL_HEADER_BYTES = 30  # the fixed part of a local file header, before its name and extra
_READ_CHUNK = 64 * 1024  # uncompressed bytes asked of zipfile per read: the overshoot bound
_READABLE = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a first entry, or an empty archive
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f:]")  # controls, drive letters, NTFS streams
_BROKEN_ERRORS = (
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    ValueError,
    struct.error,
    NotImplementedError,  # patched data or strong encryption (flag bits 5 and 6)
)
_ENCRYPTION_FLAGS = 0x1 | 0x40  # traditional or strong encryption


class ZipUnsafeName(InvalidInput):
    code = "EXCHANGE_ZIP_UNSAFE_NAME"
    message = (
        "Архив обмена содержит недопустимое имя файла (абсолютный путь, «..» или имя диска). "
        "Проверьте настройки выгрузки в 1С и выгрузите заново."
    )


class ZipTooLarge(InvalidInput):
    code = "EXCHANGE_ZIP_TOO_LARGE"
    message = (
        "Архив обмена слишком большой: превышен предел числа файлов или их размера. "
        "Выгрузите каталог частями (уменьшите размер пакета в настройках обмена 1С)."
    )


class ZipBomb(InvalidInput):
    code = "EXCHANGE_ZIP_BOMB"
    message = (
        "Архив обмена отклонён: файлы в нём сжаты подозрительно сильно или пересекаются. "
        "Выгрузите данные заново средствами 1С."
    )


class ZipBroken(InvalidInput):
    code = "EXCHANGE_ZIP_BROKEN"
    message = "Архив обмена повреждён: выгрузите заново."


ARCHIVE_ERRORS = (ZipUnsafeName, ZipTooLarge, ZipBomb, ZipBroken)


_ENCRYPTED = "Архив обмена защищён паролем: выгрузите его из 1С заново без пароля."
_UNSUPPORTED = (
    "Файл в архиве обмена сжат неподдерживаемым методом: выгрузите заново "
    "со стандартным сжатием (Deflate)."
)


@dataclass(frozen=True)
class Limits:
    """What an archive may hold. The ratio is checked only once a member has given
    ``ratio_grace_bytes``: a small file of blanks compresses far beyond any ratio, harmlessly."""

    max_members: int = 10_000  # entries of any kind, directories and pictures included
    max_member_bytes: int = 4 * 1024**3  # uncompressed bytes of one XML member
    max_total_bytes: int = 16 * 1024**3  # declared uncompressed bytes of all XML members
    max_ratio: int = 200  # uncompressed / compressed bytes of one member
    ratio_grace_bytes: int = 1024**2


@dataclass(frozen=True)
class Member:
    """An XML file of the archive: its safe name (``/``-separated, relative, no ``..``) and the
    sizes its central directory declares. ``index`` is its position there, so an archive that
    names two entries alike still opens the one listed."""

    name: str
    compressed_size: int
    size: int
    index: int

    @property
    def base_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Listing:
    """The XML members, and how many other files (pictures ...) were skipped."""

    members: list[Member]
    skipped: int


def is_zip(stream: IO[bytes]) -> bool:
    """Whether the upload starts like a zip archive; the stream's position is kept."""
    position = stream.tell()
    try:
        stream.seek(0)
        return stream.read(4) in _MAGIC
    finally:
        stream.seek(position)


def list_archive(stream: IO[bytes], limits: Limits) -> Listing:
    """The archive's XML members (by the ``.xml`` extension, in any case) and the count of the
    files skipped. Any unsafe name, too many entries, overlapping entries or an XML member whose
    declared sizes exceed the limits refuses the whole archive."""
    with _open_archive(_CountingReader(stream), limits) as archive:
        members: list[Member] = []
        skipped = 0
        for index, info in enumerate(archive.infolist()):
            name = safe_name(info.orig_filename)
            if info.is_dir():
                continue
            if not name.lower().endswith(".xml"):
                skipped += 1
                continue
            member = Member(name, info.compress_size, info.file_size, index)
            _check_declared(member, info, limits)
            members.append(member)
    total = sum(member.size for member in members)
    if total > limits.max_total_bytes:
        raise ZipTooLarge(details={"total_bytes": total, "limit": limits.max_total_bytes})
    return Listing(members, skipped)


def xml_members(stream: IO[bytes], limits: Limits) -> list[Member]:
    """The archive's XML members; see ``list_archive``."""
    return list_archive(stream, limits).members


def find_member(members: list[Member], filename: str) -> Member | None:
    """The member 1C means by ``mode=import&filename=``: the one at exactly that path, else the
    only one with that base name (``import.xml`` finds ``1/import.xml``). Ambiguous or absent:
    None. A name that is not safe finds nothing."""
    try:
        wanted = safe_name(filename)
    except ZipUnsafeName:
        return None
    exact = [member for member in members if member.name == wanted]
    if exact:
        return exact[0] if len(exact) == 1 else None
    base = wanted.rsplit("/", 1)[-1]
    same_base = [member for member in members if member.base_name == base]
    return same_base[0] if len(same_base) == 1 else None


def open_member(stream: IO[bytes], member: Member, limits: Limits) -> IO[bytes]:
    """A buffered stream of the member's uncompressed bytes. It raises ``ZipTooLarge`` past
    ``max_member_bytes`` and ``ZipBomb`` past ``max_ratio`` while reading, whatever the headers
    say, and ``ZipBroken`` on a CRC mismatch or corrupt data. Closing it closes the archive, not
    the upload."""
    counter = _CountingReader(stream)
    archive = _open_archive(counter, limits)
    try:
        infos = archive.infolist()
        info = infos[member.index] if member.index < len(infos) else None
        if info is None or safe_name(info.orig_filename) != member.name:
            raise ZipBroken(details={"member": member.name, "reason": "missing"})
        _check_declared(member, info, limits)
        start = counter.read_bytes
        with _reading(member.name):
            opened = archive.open(info)
    except BaseException:
        archive.close()
        raise
    return io.BufferedReader(_GuardedMember(opened, archive, counter, start, member, limits))


def safe_name(raw: str) -> str:
    """The entry's name with ``/`` separators and no ``.`` or empty parts; ``ZipUnsafeName`` for
    a name that would leave the folder it is extracted to, on any system."""
    parts = raw.replace("\\", "/").split("/")
    kept = [part for part in parts if part not in ("", ".")]
    if not kept or raw.startswith(("/", "\\")) or ".." in kept or _UNSAFE_CHARACTERS.search(raw):
        raise ZipUnsafeName(details={"name": raw[:200]})
    return "/".join(kept)


def _open_archive(counter: _CountingReader, limits: Limits) -> zipfile.ZipFile:
    with _reading(None):
        archive = zipfile.ZipFile(counter)
    try:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise ZipTooLarge(details={"members": len(infos), "limit": limits.max_members})
        for info in infos:
            safe_name(info.orig_filename)
        _check_no_overlap(infos, archive.start_dir)
    except BaseException:
        archive.close()
        raise
    return archive


def _check_no_overlap(infos: list[zipfile.ZipInfo], directory_start: int) -> None:
    """Each entry's data must end before the next entry (or the central directory) starts: a
    non-recursive zip bomb points many entries at one compressed kernel. Checked here because
    only newer zipfile releases refuse overlapping entries, and only when one is opened."""
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for position, info in enumerate(ordered, start=1):
        end = ordered[position].header_offset if position < len(ordered) else directory_start
        name_bytes = len(info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"))
        if info.header_offset + _LOCAL_HEADER_BYTES + name_bytes + info.compress_size > end:
            raise ZipBomb(details={"member": info.orig_filename[:200], "reason": "overlap"})


def _check_declared(member: Member, info: zipfile.ZipInfo, limits: Limits) -> None:
    if info.flag_bits & _ENCRYPTION_FLAGS:
        raise ZipBroken(_ENCRYPTED, details={"member": member.name, "reason": "encrypted"})
    if info.compress_type not in _READABLE:
        raise ZipBroken(
            _UNSUPPORTED,
            details={"member": member.name, "reason": "compression", "method": info.compress_type},
        )
    if info.file_size > limits.max_member_bytes:
        raise ZipTooLarge(
            details={
                "member": member.name,
                "bytes": info.file_size,
                "limit": limits.max_member_bytes,
            }
        )
    _check_ratio(member.name, info.file_size, info.compress_size, limits)


def _check_ratio(name: str, uncompressed: int, compressed: int, limits: Limits) -> None:
    if uncompressed > limits.ratio_grace_bytes and uncompressed > compressed * limits.max_ratio:
        raise ZipBomb(
            details={
                "member": name,
                "ratio": uncompressed // max(compressed, 1),
                "limit": limits.max_ratio,
            }
        )


@contextmanager
def _reading(member: str | None) -> Iterator[None]:
    """Turns what zipfile and the decompressors raise on a broken archive into ``ZipBroken``;
    errors of the upload's storage itself (``OSError``) pass through."""
    try:
        yield
    except _BROKEN_ERRORS as exc:
        details = {"reason": str(exc)[:200]}
        if member is not None:
            details["member"] = member
        raise ZipBroken(details=details) from exc


class _CountingReader:
    """The upload as zipfile reads it, counting the bytes read: the compressed bytes a member
    has really consumed, whatever its header declares."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.read_bytes = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self.read_bytes += len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def seekable(self) -> bool:
        return True


class _GuardedMember(io.RawIOBase):
    """One member's uncompressed bytes, counted against the limits as they are handed out."""

    def __init__(
        self,
        opened: IO[bytes],
        archive: zipfile.ZipFile,
        counter: _CountingReader,
        start: int,
        member: Member,
        limits: Limits,
    ) -> None:
        super().__init__()
        self._opened = opened
        self._archive = archive
        self._counter = counter
        self._start = start
        self._member = member
        self._limits = limits
        self._given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        with _reading(self._member.name):
            data = self._opened.read(min(len(view), _READ_CHUNK))
        given = self._given + len(data)
        if given > self._limits.max_member_bytes:
            raise ZipTooLarge(
                details={
                    "member": self._member.name,
                    "bytes": given,
                    "limit": self._limits.max_member_bytes,
                }
            )
        _check_ratio(self._member.name, given, self._counter.read_bytes - self._start, self._limits)
        self._given = given
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._opened.close()
            finally:
                self._archive.close()
        super().close()
