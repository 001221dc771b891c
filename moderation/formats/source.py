"""Reading input files safely and writing output files atomically, for every format."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..errors import InputError

# Whole-page formats (plain text, HTML, JSON) are read into memory; a page larger than this is not a
# blog page. Streaming formats (WordPress and Disqus exports, JSONL, CSV) are not limited by this.
MAX_PAGE_BYTES = 20 * 1024 * 1024
_SNIFF_BYTES = 8192


def check_file(path: str | os.PathLike) -> Path:
    """Fail with a one-line InputError unless ``path`` is an existing, readable regular file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")
    return path


def head_bytes(path: Path, size: int = _SNIFF_BYTES) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        # UTF-16 text has NULs too; we do not read it, and saying "binary" would mislead.
        return not (head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff"))
    return False


def decode(data: bytes, path: Path, encoding: str | None = None) -> str:
    """Decode strictly: a wrong guess would silently corrupt every comment it touches."""
    if not encoding and (data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff")):
        raise InputError(f"{path}: is UTF-16 text; convert it to UTF-8 or pass --encoding utf-16")
    name = encoding or "utf-8-sig"
    try:
        return data.decode(name)
    except LookupError:
        raise InputError(f"{path}: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = "" if encoding else "; pass --encoding (e.g. cp1252) if you know the file's encoding"
        raise InputError(
            f"{path}: not valid {name.replace('-sig', '').upper()} text "
            f"(byte 0x{data[exc.start]:02x} on line {line}){hint}"
        ) from None


def check_text_file(path: str | os.PathLike) -> Path:
    """``check_file``, and refuse binary data: what every text reader checks before it reads."""
    path = check_file(path)
    if looks_binary(head_bytes(path)):
        raise InputError(f"{path}: looks like binary data, not a text page")
    return path


def read_page_bytes(path: str | os.PathLike, *, max_bytes: int = MAX_PAGE_BYTES) -> tuple[Path, bytes]:
    """The bytes of a whole-page input, refusing what is missing, binary or huge."""
    path = check_file(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"{path}: is {size / 1e6:.1f} MB; pages over {max_bytes / 1e6:.0f} MB are refused "
            "(export large sites as WordPress WXR, Disqus XML or JSONL, which are streamed)"
        )
    check_text_file(path)
    try:
        return path, path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_text(path: str | os.PathLike, *, encoding: str | None = None, max_bytes: int = MAX_PAGE_BYTES) -> str:
    """Read a whole-page input as text, refusing what is missing, binary, huge or mis-encoded."""
    path, data = read_page_bytes(path, max_bytes=max_bytes)
    return decode(data, path, encoding)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place only when all went well.

    A crash, a full disk or an exception half-way leaves the previous file (or no file) untouched,
    never a truncated one.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    # mkstemp makes the file private (0600); give it the mode a plain open() would, or the old file's.
    try:
        mode_bits = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode_bits)
    except OSError:
        pass
    try:
        kwargs = {"encoding": encoding, "newline": ""} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def report_problem(exc: Exception, skip_bad: bool, on_problem) -> None:
    """The readers' shared rule for a bad thread: raise it, or (with ``skip_bad``) report it and go on."""
    if not skip_bad:
        raise exc
    if on_problem:
        on_problem(exc)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
