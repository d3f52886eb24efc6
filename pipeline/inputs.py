"""Finding documents under the inputs and reading them (encodings, formats).

Discovery streams: folders are walked one at a time in sorted order, so a folder of
100 000 documents is never listed whole in memory, and the order is deterministic.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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


def _decode(data: bytes) -> tuple[str, str, tuple[str, ...]]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding, ()
            except UnicodeDecodeError as exc:
                raise InputError("bad_encoding", f"starts with a {encoding} byte-order mark but is not valid {encoding}: {exc.reason}") from None
    sample = data[:65536]
    if b"\x00" in sample:
        # UTF-16 without a byte-order mark: NULs on every other byte of ASCII text.
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        half = len(sample) // 2
        if half and max(even, odd) > 0.4 * half and min(even, odd) < 0.05 * half:
            encoding = "utf-16-be" if even > odd else "utf-16-le"
            try:
                return data.decode(encoding), encoding, ("no byte-order mark; guessed " + encoding,)
            except UnicodeDecodeError:
                pass
        raise InputError("binary", "binary file, not text (contains NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8", ()
    except UnicodeDecodeError as exc:
        utf8_error = f"invalid UTF-8 at byte {exc.start}"
    from charset_normalizer import from_bytes  # installed with trafilatura

    best = from_bytes(data[:1_000_000]).best()
    if best is None:
        raise InputError("bad_encoding", f"{utf8_error}, and no other text encoding fits")
    encoding = best.encoding
    if encoding in ("latin_1", "iso8859_1", "ascii"):
        encoding = "cp1252"  # cp1252 is a superset of Latin-1 for printable text
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    return text, encoding, (f"{utf8_error}; decoded as {encoding}",)


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    bad = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f\v")
    return bad / len(sample)


def read_document(doc: Document) -> SourceText:
    """Read and decode a document; raise InputError (one line, no traceback) when it is unusable."""
    try:
        fd = os.open(doc.path, os.O_RDONLY)
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError("not_a_file", "not a regular file")
            if info.st_size > MAX_BYTES:
                raise InputError("too_large", f"{info.st_size} bytes is over the {MAX_BYTES}-byte limit")
            data = fh.read()
    except InputError:
        raise
    except PermissionError:
        raise InputError("unreadable", "permission denied") from None
    except OSError as exc:
        raise InputError("unreadable", exc.strerror or str(exc)) from None
    if not data.strip():
        raise InputError("empty", "empty file" if not data else "file holds only white space")
    text, encoding, notes = _decode(data)
    if _control_ratio(text) > 0.01:
        raise InputError("binary", "binary file, not text (control characters)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError("empty", "file holds only white space")
    fmt = sniff_format(text, doc.suffix_format)
    if fmt != doc.suffix_format:
        notes += (f"content is {fmt} although the name says {doc.suffix_format}",)
    return SourceText(text=text, encoding=encoding, format=fmt,
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data), notes=notes)


def sniff_format(text: str, by_suffix: str) -> str:
    """HTML saved as .txt is HTML; a .html file with no markup is text."""
    head = text[:4096].encode("utf-8", "ignore")
    if _HTML_START.match(head):
        return "html"
    if by_suffix == "html" and not _HTML_TAGS.search(text[:200000]):
        return "text"
    return by_suffix

