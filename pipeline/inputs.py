"""Finding documents under the inputs and reading them (encodings, formats).

Discovery streams: folders are walked one at a time in sorted order, so a folder of
100 000 documents is never listed whole in memory, and the order is deterministic.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import InputError, UsageError

TEXT_SUFFIXES = {".txt": "text", ".html": "html", ".htm": "html"}
MAX_BYTES = 64 * 1024 * 1024  # larger files are refused rather than read into memory


@dataclass(frozen=True)
class Document:
    """One input document: where it is and the id its records are filed under."""

    doc_id: str
    path: Path
    suffix_format: str  # format by extension: text or html
    full_id: str = ""  # the path relative to its input folder, extension kept: the id when `doc_id` is taken
    clash: str | None = None  # the file that already holds `doc_id`'s records, when this one would take them
    # What the run's survey found about it among the other documents (the clean stage: the
    # fingerprints of its site-template lines); part of its key.
    evidence: tuple[str, ...] = ()


@dataclass
class Discovery:
    """What the walk saw besides documents: skipped files, by reason."""

    skipped: Counter = field(default_factory=Counter)
    skipped_examples: dict[str, str] = field(default_factory=dict)

    def skip(self, reason: str, path: Path | str) -> None:
        self.skipped[reason] += 1
        self.skipped_examples.setdefault(reason, str(path))


@dataclass(frozen=True)
class SourceText:
    text: str
    encoding: str
    format: str
    sha256: str
    size: int
    notes: tuple[str, ...] = ()
    encoding_confidence: float = 1.0  # below 1 only where another encoding also read as text
    doubts: tuple[str, ...] = ()  # why the text may not be what was written: the record is degraded


# Names at OUT's top that are the workspace's own: no document id is one of them.
RESERVED_IDS = frozenset({"digest.md", "digest.html", "stories.json"})


def _doc_id(rel: Path) -> str:
    """A document's id: its path relative to its input folder without the extension, the same
    whatever other files there are (a.txt is `a` every night); where that would be one of the
    workspace's own names (digest.md.txt) or end like a record file (clean.json.txt), the path
    with its extension."""
    parts = rel.with_suffix("").parts
    if not parts or any(p in ("", ".", "..") for p in parts) or rel.is_absolute():
        raise InputError("unsafe_path", f"{rel}: refusing a path that would escape the output folder")
    doc_id = "/".join(parts)
    # a.txt/clean.json.txt beside a.txt would put a folder where a.txt's clean.json is
    if doc_id in RESERVED_IDS or parts[-1].lower().endswith(".json"):
        return "/".join(rel.parts)
    return doc_id


def printable(value: str | os.PathLike) -> str:
    """A file name as one line of a message: control characters (a newline in a name) escaped."""
    text = str(value)
    return text if text.isprintable() else text.encode("unicode_escape", "backslashreplace").decode("ascii")


def _undecodable(name: str) -> bool:
    """A name with bytes that are not UTF-8 (os gives them as surrogates): no id can be made of it."""
    try:
        name.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _is_inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def discover(inputs: Iterable[str | os.PathLike], discovery: Discovery | None = None,
             exclude: Iterable[str | os.PathLike] = ()) -> Iterator[Document]:
    """Yield the documents under `inputs` (files or folders), in a deterministic order.

    Hidden files and folders, files of other types, symlinks that point outside their input
    folder, symlinked folders, names that are not UTF-8 and the folders in `exclude` (OUT,
    when it is inside an input) are skipped and counted in `discovery`. A document id is the
    path relative to its input folder, without extension (`_doc_id`); two documents may
    want the same id (a.txt and a.html; x.txt in two inputs): the runner decides which keeps
    it (the one that had it on earlier nights, else the first) and fails the other. The same
    file reached twice is yielded once.
    """
    discovery = discovery if discovery is not None else Discovery()
    excluded = {Path(e).resolve() for e in exclude}
    seen: set[Path] = set()
    for raw in inputs:
        top = Path(raw)
        if not top.exists():
            raise UsageError(f"{top}: no such file or folder")
        if top.is_file():
            if TEXT_SUFFIXES.get(top.suffix.lower()) is None:
                discovery.skip("unsupported_type", top)
                continue
            if _undecodable(top.name):
                discovery.skip("undecodable_name", printable(top))
                continue
            doc = _claim(Path(top.name), top, seen, discovery)
            if doc is not None:
                yield doc
            continue
        yield from _walk(top, top.resolve(), discovery, seen, excluded)


def _claim(rel: Path, path: Path, seen: set[Path], discovery: Discovery) -> Document | None:
    """The document at `path` (relative path `rel`), once per file."""
    try:
        doc_id, full_id = _doc_id(rel), "/".join(rel.parts)
        real = path.resolve()
    except (InputError, OSError, RuntimeError):
        discovery.skip("unsafe_path", printable(path))
        return None
    if real in seen:
        discovery.skip("duplicate_file", printable(path))
        return None
    seen.add(real)
    return Document(doc_id, path, TEXT_SUFFIXES[path.suffix.lower()], full_id)


def _walk(top: Path, root: Path, discovery: Discovery, seen: set[Path],
          excluded: set[Path]) -> Iterator[Document]:
    """Folders one at a time, depth first in sorted order, with a stack (no recursion limit)."""
    pending = [Path()]
    while pending:
        rel_dir = pending.pop()
        subdirs = yield from _walk_folder(top, root, rel_dir, discovery, seen, excluded)
        pending.extend(rel_dir / name for name in reversed(subdirs))


def _walk_folder(top: Path, root: Path, rel_dir: Path, discovery: Discovery, seen: set[Path],
                 excluded: set[Path]):
    folder = top / rel_dir
    if excluded and folder.resolve() in excluded:
        discovery.skip("output_folder", folder)
        return []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        discovery.skip("unreadable_folder", f"{printable(folder)}: {exc.strerror}")
        return []
    files, subdirs = [], []
    for entry in entries:
        if entry.name.startswith("."):
            discovery.skip("hidden", folder / entry.name)
            continue
        if _undecodable(entry.name):
            discovery.skip("undecodable_name", printable(folder / entry.name))
            continue
        try:
            if entry.is_symlink():
                target_inside = _is_inside(Path(entry.path), root)
                if not target_inside:
                    discovery.skip("symlink_outside_input", folder / entry.name)
                    continue
                if entry.is_dir():  # followed folders could loop; their files are reached directly
                    discovery.skip("symlinked_folder", folder / entry.name)
                    continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name.lower().endswith(".json"):  # its records would sit where record files are
                    discovery.skip("reserved_name", printable(folder / entry.name))
                    continue
                subdirs.append(entry.name)
            elif entry.is_file():
                files.append(entry.name)
            else:
                discovery.skip("not_a_regular_file", folder / entry.name)
        except OSError:
            discovery.skip("unreadable", folder / entry.name)
    for name in files:
        if TEXT_SUFFIXES.get(Path(name).suffix.lower()) is None:
            discovery.skip("unsupported_type", folder / name)
            continue
        doc = _claim(rel_dir / name, folder / name, seen, discovery)
        if doc is not None:
            yield doc
    return subdirs


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])",
                         re.IGNORECASE | re.DOTALL)
_HTML_TAGS = re.compile(r"<(p|div|br|h[1-6]|article|span|a\s)[\s>/]", re.IGNORECASE)


@dataclass(frozen=True)
class _Decoding:
    text: str
    encoding: str
    notes: tuple[str, ...] = ()
    confidence: float = 1.0
    doubts: tuple[str, ...] = ()


def _decode(data: bytes) -> _Decoding:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _Decoding(data.decode(encoding), encoding)
            except UnicodeDecodeError as exc:
                raise InputError("bad_encoding", f"starts with a {encoding} byte-order mark but is not valid {encoding}: {exc.reason}") from None
    sample = data[:65536]
    if b"\x00" in data:  # anywhere: a NUL after the first 64 KiB is as binary as one before
        # UTF-16 without a byte-order mark: NULs on every other byte of ASCII text.
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        half = len(sample) // 2
        if half and max(even, odd) > 0.4 * half and min(even, odd) < 0.05 * half:
            encoding = "utf-16-be" if even > odd else "utf-16-le"
            try:
                return _Decoding(data.decode(encoding), encoding, ("no byte-order mark; guessed " + encoding,))
            except UnicodeDecodeError:
                pass
        raise InputError("binary", "binary file, not text (contains NUL bytes)")
    try:
        return _Decoding(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = f"invalid UTF-8 at byte {exc.start}"
    from pipeline.encodings import decode_legacy

    decoded = decode_legacy(data)
    how = ("with the invalid bytes replaced" if decoded.encoding == "utf-8"
           else f"as {decoded.encoding}")
    note = f"{utf8_error}; decoded {how} (confidence {decoded.confidence:.2f})"
    doubts = ()
    if decoded.doubtful:
        others = ", ".join(name for name, _ in decoded.candidates[1:3])
        doubts = (f"encoding uncertain: decoded {how}, but {others or 'other encodings'} read about as well "
                  f"or the text reads badly in all (confidence {decoded.confidence:.2f})",)
    return _Decoding(decoded.text, decoded.encoding, (note,), decoded.confidence, doubts)


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    bad = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f\v")
    return bad / len(sample)


class NotRegularFile(OSError):
    """The path names something other than a regular file (a FIFO, a folder, a device...)."""


def open_regular(path: str | os.PathLike, *, follow_symlinks: bool = True) -> BinaryIO:
    """Open a file for reading without ever blocking, and only if it is a regular file.

    O_NONBLOCK makes opening a FIFO (or a device) return at once instead of waiting for a
    writer; fstat on the open descriptor then refuses anything that is not a regular file,
    whatever the name pointed at when the folder was listed. With follow_symlinks=False a
    symlink itself is refused (O_NOFOLLOW). Raises OSError (NotRegularFile for the wrong
    kind of file); the caller closes the returned file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise NotRegularFile(exc.errno, "a symbolic link, not a regular file") from None
        if exc.errno == errno.ENXIO:  # a socket, or a device with nothing behind it
            raise NotRegularFile(exc.errno, "not a regular file") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(errno.EINVAL, f"not a regular file ({_file_kind(info.st_mode)})")
        os.set_blocking(fd, True)  # a regular file never blocks; reads behave as usual
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a plain file"


def read_document(doc: Document) -> SourceText:
    """Read and decode a document; raise InputError (one line, no traceback) when it is unusable.

    The file is opened without blocking and checked to be regular after opening (a FIFO put
    in place of a document after discovery fails this document, it does not hang the run),
    and never more than MAX_BYTES are read, whatever the size said.
    """
    try:
        with open_regular(doc.path) as fh:
            info = os.fstat(fh.fileno())
            if info.st_size > MAX_BYTES:
                raise InputError("too_large", f"{info.st_size} bytes is over the {MAX_BYTES}-byte limit")
            data = fh.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:  # it grew while being read
                raise InputError("too_large", f"more than the {MAX_BYTES}-byte limit")
    except InputError:
        raise
    except NotRegularFile as exc:
        raise InputError("not_a_regular_file", exc.strerror) from None
    except PermissionError:
        raise InputError("unreadable", "permission denied") from None
    except OSError as exc:
        raise InputError("unreadable", exc.strerror or str(exc)) from None
    if not data.strip():
        raise InputError("empty", "empty file" if not data else "file holds only white space")
    decoding = _decode(data)
    text, encoding, notes = decoding.text, decoding.encoding, decoding.notes
    if "\x00" in text:  # whatever the encoding (a UTF-16 guess included), NUL is not text
        raise InputError("binary", "binary file, not text (contains NUL bytes)")
    if _control_ratio(text) > 0.01:
        raise InputError("binary", "binary file, not text (control characters)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError("empty", "file holds only white space")
    fmt = sniff_format(text, doc.suffix_format)
    if fmt != doc.suffix_format:
        notes += (f"content is {fmt} although the name says {doc.suffix_format}",)
    return SourceText(text=text, encoding=encoding, format=fmt,
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data), notes=notes,
                      encoding_confidence=decoding.confidence, doubts=decoding.doubts)


def sniff_format(text: str, by_suffix: str) -> str:
    """HTML saved as .txt is HTML; a .html file with no markup is text."""
    head = text[:4096].encode("utf-8", "ignore")
    if _HTML_START.match(head):
        return "html"
    if by_suffix == "html" and not _HTML_TAGS.search(text[:200000]):
        return "text"
    return by_suffix


def content_sha256(path: Path) -> str | None:
    """The SHA-256 of a file's bytes (what `SourceText.sha256` holds), read in blocks, never
    blocking on a FIFO; None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open_regular(path) as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()
