"""Safe, streaming XML for the export formats (WordPress WXR and Disqus).

Two jobs, both on a stream so that a file of a million comments never sits in memory:

* ``iterparse(path)`` yields ElementTree events through defusedxml with DTDs refused outright. No
  export we read (WordPress, Disqus) ever carries a ``<!DOCTYPE>``, and every XML attack we must
  refuse (billion laughs, external entities, external DTDs) needs one, so refusing DTDs is both the
  simplest and the strictest rule. Nothing is ever fetched from the network.
* ``ByteEditor`` replays the raw bytes of a file through expat, tracking byte offsets, so a writer
  can change a few element values and copy everything else byte for byte.

Bytes that are not valid UTF-8 in a UTF-8 file are read as Windows-1252: WordPress databases that
were once latin1 routinely export such mixed files, and refusing them would help no one. Control
characters that XML 1.0 forbids (they turn up in pasted comments) are dropped for the same reason.
Both repairs keep newlines, so line numbers in errors still match the file.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from pyexpat import ExpatError, ParserCreate, errors
from typing import BinaryIO

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from ..errors import InputError, ParseError
from .source import check_file, head_bytes, looks_binary

CHUNK = 256 * 1024

_XML_DECL_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
# XML 1.0 allows tab, LF and CR only among the C0 controls. (A regex, not str.translate: translate
# with a dict costs ~10x more on the clean text that is nearly all of any real export.)
_FORBIDDEN_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    chars = []
    for byte in exc.object[exc.start : exc.end]:
        try:
            chars.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            # The five bytes cp1252 leaves undefined: Latin-1 maps them to themselves.
            chars.append(chr(byte))
    return "".join(chars), exc.end


codecs.register_error("moderation.cp1252", _cp1252_fallback)


def declared_encoding(head: bytes) -> str | None:
    match = _XML_DECL_ENCODING.match(head)
    return match.group(1).decode("ascii").lower() if match else None


def _needs_utf8_repair(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return declared_encoding(head) in (None, "utf-8", "utf8")


class RepairingReader:
    """A read()-only byte stream: UTF-8 with stray cp1252 bytes and forbidden controls fixed."""

    def __init__(self, raw: BinaryIO, repair: bool):
        self._raw = raw
        self._repair = repair
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="moderation.cp1252")
        self._done = False

    def read(self, size: int = CHUNK) -> bytes:
        if self._done:
            return b""
        data = self._raw.read(max(size, 1))
        if not self._repair:
            if not data:
                self._done = True
            return data
        final = not data
        self._done = final
        text = self._decoder.decode(data, final=final)
        # An incremental decoder may hold back a split multibyte sequence and return ""; keep
        # reading so that b"" only ever means end of file to our callers.
        while not text and not final:
            data = self._raw.read(max(size, 1))
            final = not data
            self._done = final
            text = self._decoder.decode(data, final=final)
        return clean_xml_text(text).encode("utf-8")


def open_checked(path: str | Path) -> tuple[Path, bytes]:
    path = check_file(path)
    head = head_bytes(path)
    if looks_binary(head) and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: looks like binary data, not an XML export")
    return path, head


def xml_error(exc: Exception, path: Path | str) -> ParseError:
    """Our one-line ParseError for anything the XML layer refused or could not parse."""
    if isinstance(exc, DTDForbidden):
        return ParseError(
            f"{path}: refused: the file declares a DTD (<!DOCTYPE {exc.name}>); exports never carry one "
            "and DTDs are how entity-expansion and external-entity attacks work",
            element="!DOCTYPE",
        )
    if isinstance(exc, EntitiesForbidden):
        return ParseError(
            f"{path}: refused: the file declares an entity ({exc.name!r}); entity declarations are "
            "refused to stop entity-expansion (billion laughs) and external-entity attacks",
            element="!ENTITY",
        )
    if isinstance(exc, ExternalReferenceForbidden):
        return ParseError(
            f"{path}: refused: the file refers to an external resource ({exc.sysid or exc.pubid}); "
            "nothing is ever fetched while parsing",
        )
    if isinstance(exc, (ET.ParseError, ExpatError)):
        code = getattr(exc, "code", None)
        line = getattr(exc, "lineno", None)
        if isinstance(exc, ET.ParseError) and getattr(exc, "position", None):
            line = exc.position[0]
        reason = errors.messages.get(code, str(exc)) if code is not None else str(exc)
        reason = re.sub(r": line \d+, column \d+$", "", reason)
        if code in (
            errors.codes.get(errors.XML_ERROR_NO_ELEMENTS),
            errors.codes.get(errors.XML_ERROR_UNCLOSED_TOKEN),
        ):
            reason = f"the file ends before the XML is complete (truncated?): {reason}"
        elif code == errors.codes.get(errors.XML_ERROR_UNDEFINED_ENTITY):
            reason = f"{reason} (HTML entities such as &nbsp; must be inside CDATA or written as &#160;)"
        return ParseError(f"{path}: malformed XML: {reason}", line=line)
    if isinstance(exc, DefusedXmlException):
        return ParseError(f"{path}: refused: {exc}")
    if isinstance(exc, LookupError):
        return ParseError(f"{path}: unknown or unsupported encoding declared in the XML declaration")
    raise TypeError(f"not an XML error: {exc!r}")  # pragma: no cover - programming error


def _ascii_compatible(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00", b"<\x00", b"\x4c\x6f")):
        return False
    name = declared_encoding(head) or "utf-8"
    probe = "<!DOCTYPE <?xml ?> <!-- -->"
    try:
        return probe.encode(name) == probe.encode("ascii")
    except (LookupError, UnicodeError):
        return False


class _PrologGuard:
    """Refuse a DOCTYPE before expat sees it, so that the fast C tree builder can be used safely.

    XML allows a DOCTYPE only in the prolog (XMLDecl? Misc* doctypedecl?, Misc being comments,
    processing instructions and white space), and every entity needs a declaration inside one; so a
    prolog without a DOCTYPE means nothing can be declared, expanded or fetched. defusedxml's parser
    does the same job through Python callbacks on every element, which made reading ~3x slower.
    """

    def __init__(self) -> None:
        self.pending = b""
        self.done = False

    def check(self, chunk: bytes, final: bool) -> None:
        data = self.pending + chunk
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        at = 0
        while True:
            while at < len(data) and data[at] in b" \t\r\n":
                at += 1
            if len(data) - at < 9 and not final:
                break  # too few bytes to tell a comment, a PI or a DOCTYPE apart
            if data[at : at + 9].upper() == b"<!DOCTYPE":
                name = data[at + 9 : at + 80].split()
                raise DTDForbidden(name[0].decode("ascii", "replace") if name else "", None, None)
            closer = b"?>" if data.startswith(b"<?", at) else b"-->" if data.startswith(b"<!--", at) else None
            if closer is None:
                self.done = True  # the root element (or garbage for expat to report)
                return
            end = data.find(closer, at + 2)
            if end < 0:
                break
            at = end + len(closer)
        self.pending = data[at:]
        self.done = final


def iterparse(path: str | Path, events: tuple[str, ...] = ("start", "end")) -> Iterator[tuple[str, ET.Element]]:
    """ElementTree events for ``path``, safely; every failure is a ParseError or InputError."""
    path, head = open_checked(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed in finally: this is a generator
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        source = RepairingReader(raw, _needs_utf8_repair(head))
        try:
            if not _ascii_compatible(head):
                yield from DET.iterparse(source, events=events, forbid_dtd=True)
                return
            parser = ET.XMLPullParser(events)
            guard = _PrologGuard()
            while True:
                chunk = source.read(CHUNK)
                if not guard.done:
                    guard.check(chunk, not chunk)
                if not chunk:
                    break
                parser.feed(chunk)
                yield from parser.read_events()
            parser.close()
            yield from parser.read_events()
        except (ET.ParseError, DefusedXmlException, ExpatError, LookupError) as exc:
            raise xml_error(exc, path) from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    finally:
        raw.close()


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


class ByteEditor:
    """Copy an XML file byte for byte to ``write`` while a subclass edits chosen element values.

    Subclasses implement ``start(name, attrs, offset)``, ``end(name, offset)`` and ``text(data)``
    (names are ``"namespace-uri local"`` or just ``local``; offsets are absolute byte positions of the
    tag's ``<``) and call ``replace(start, end, data)`` for ranges not yet written. Bytes from
    ``self.hold`` on are kept back until it is cleared, so an edit decided at the end of a record can
    still change bytes near its start. Only one record is ever held, so memory stays flat.
    """

    def __init__(self, path: str | Path, write: Callable[[bytes], None]):
        self.path, head = open_checked(path)
        self._repair = _needs_utf8_repair(head)
        self._write = write
        self._buffer = bytearray()
        self._base = 0  # file offset of self._buffer[0]
        self._edits: list[tuple[int, int, bytes]] = []
        self.hold: int | None = None
        self.parser = ParserCreate(namespace_separator=" ")
        p = self.parser
        p.buffer_text = True
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self.text

        def refuse_doctype(name, sysid, pubid, has_internal_subset):
            raise DTDForbidden(name, sysid, pubid)

        def refuse_entity(name, is_parameter, value, base, sysid, pubid, notation):
            raise EntitiesForbidden(name, value, base, sysid, pubid, notation)

        def refuse_external(context, base, sysid, pubid):
            raise ExternalReferenceForbidden(context, base, sysid, pubid)

        p.StartDoctypeDeclHandler = refuse_doctype
        p.EntityDeclHandler = refuse_entity
        p.ExternalEntityRefHandler = refuse_external

    # Subclass hooks.
    def start(self, name: str, attrs: dict, offset: int) -> None: ...

    def end(self, name: str, offset: int) -> None: ...

    def text(self, data: str) -> None: ...

    def _start(self, name, attrs):
        self.start(name, attrs, self.parser.CurrentByteIndex)

    def _end(self, name):
        self.end(name, self.parser.CurrentByteIndex)

    def byte_at(self, offset: int) -> int:
        return self._buffer[offset - self._base]

    def find(self, needle: bytes, offset: int) -> int:
        """Absolute offset of ``needle`` at or after ``offset`` in the bytes read so far, or -1."""
        found = self._buffer.find(needle, offset - self._base)
        return found + self._base if found >= 0 else -1

    def slice(self, start: int, end: int) -> bytes:
        return bytes(self._buffer[start - self._base : end - self._base])

    def replace(self, start: int, end: int, data: bytes) -> None:
        if start < self._base:
            raise RuntimeError("edit before bytes already written")  # pragma: no cover
        self._edits.append((start, end, data))

    def run(self) -> None:
        try:
            raw = open(self.path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        try:
            source = RepairingReader(raw, self._repair)
            while True:
                chunk = source.read(CHUNK)
                self._buffer += chunk
                self.parser.Parse(chunk, not chunk)
                self._flush(self._base + len(self._buffer) if self.hold is None else self.hold)
                if not chunk:
                    break
            self._flush(self._base + len(self._buffer))
        except (ExpatError, DefusedXmlException, LookupError) as exc:
            raise xml_error(exc, self.path) from None
        finally:
            raw.close()

    def _flush(self, limit: int) -> None:
        if limit <= self._base:
            return
        self._edits.sort()
        position = self._base
        out = []
        remaining = []
        for start, end, data in self._edits:
            if end > limit:
                remaining.append((start, end, data))
                continue
            out.append(self._buffer[position - self._base : start - self._base])
            out.append(data)
            position = end
        out.append(self._buffer[position - self._base : limit - self._base])
        self._write(b"".join(out))
        del self._buffer[: limit - self._base]
        self._base = limit
        self._edits = remaining


def cdata(text: str) -> str:
    """``text`` as CDATA; ``]]>`` inside is split across two sections, the standard escape."""
    return "<![CDATA[" + clean_xml_text(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def clean_xml_text(text: str) -> str:
    return _FORBIDDEN_CONTROLS.sub("", text) if _FORBIDDEN_CONTROLS.search(text) else text


def escape(text: str) -> str:
    return clean_xml_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def byte_sink(stream) -> Callable[[bytes], None]:
    """A write() for raw bytes on a text stream (as ``atomic_write`` opens), for byte-exact copies."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        # A real file: write the source's bytes untouched, whatever its encoding.
        stream.flush()
        return buffer.write
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return lambda data: stream.write(decoder.decode(data))
