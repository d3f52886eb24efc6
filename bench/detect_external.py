"""Evaluate language detection on real human-written text from Debian packages.

    python bench/detect_external.py --fetch [DIR]          # download and unpack (apt-get, dpkg-deb)
    python bench/detect_external.py [--cache DIR] [--backend NAME ...] [--per-language N]
                                    [--paragraphs M] [--errors FILE] [--dump FILE]

bench/detect_eval.py measures detection on sentences this project wrote; this script checks
that the figures hold on text nobody wrote for us: fortune cookies (fortunes, fortunes-it,
-de, -es, -br, -pl, -cs, -ru, -ga, -eo), the Debian Reference in six languages
(debian-reference-en, -it, -fr, -de, -es, -pt: a system administration guide, HTML) and
translated manual pages (manpages-it, -fr, -es, -de, -nl, -ro, -pl; English from manpages
and manpages-dev). The gold language of an item is its package's language. The packages
are downloaded into a cache outside the repository (default ~/.cache/newsum/detect-external)
and only read: nothing from them is committed, their licences vary.

Items are paragraphs (a fortune's block of text, an HTML <p>, a roff paragraph; two to
eight sentences) and sentences (each paragraph split with pipeline.text.split_sentences,
i.e. pysbd), kind "paragraph" or "sentence", white space collapsed to single spaces.
Gold labels are only as good as the packages, so the filters are aggressive; each item
is dropped by the first filter it fails, and the counts are printed:

Sources
- fortunes: files of ASCII art (ascii-art, asciiart, banner), of translations or
  dictionaries with English in them (translate-me, translations), of code (perl), of dialect
  spelling (ethnic), and the offensive sections (off/, rot13) are not read; in fortunes-cs,
  klasik-sk (Slovak) is not read.
- man pages: no-fill blocks (.nf/.fi, .EX/.EE: examples, code), tables (.TS/.TE), macro
  definitions, headings (.SH/.SS), the tags of .TP/.IP lists (options), the NAME section,
  and sections on authors, translators, copyright, licence and bug reports are not read.
  Text in bold or italic (\\fB..\\fP, .B, .I, .BR...) is marked as an identifier.
- Debian Reference: <p> elements only (no tables, <pre> screens, titles); text inside
  <code>, <tt>, <kbd>, <pre>, and external links (<a class="ulink">, mostly package and
  program names) is marked as an identifier.

Filters (reason names as printed)
- `chat`: a fortune with IRC lines ("<nick> ...", "-:- ...", "* nick ..."): mixed-language logs.
- `attribution`: fortune lines that are attributions ("-- Name", "— Name", "(Proverb)")
  are removed from the text, and so is a trailing " -- Name" on a line; not counted, the
  rest of the fortune is kept.
- `short`: fewer than 20 letters.
- `long`: a sentence over 400 characters (a run of verse or a list the splitter did not
  cut); a paragraph over 1500 characters.
- `sentences`: a paragraph of fewer than two or more than eight sentences.
- `url`: an address (http://, www., ftp://, e-mail).
- `path`: a file path (/etc/fstab, ~/.bashrc, ./configure, C:\\).
- `option`: a command-line option (-a, --help, +x) or an environment variable ($HOME).
- `code`: two or more characters of code ({ } < > = | \\ ` $ _ # @ ^ ~ *), or a call `f(x)`
  or `name(3)` reference next to other code, or a line of ALL CAPS words.
- `identifiers`: tokens that are identifiers (snake_case, camelCase, dotted.names,
  letters with digits) make a fifth of the words or more, or text marked as identifier
  (above) holds 40 % of the letters or more.
- `names`: most words (over 60 %) capitalised: a list of names or a title.
- `script`: for Russian, less than 90 % of the letters Cyrillic; for the others, a letter
  outside the Latin script.
- `slovak`: in fortunes-cs, a letter only Slovak uses (ä ô ĺ ľ ŕ).
- `english-original`: Debian Reference and man pages: the item, or for a paragraph any of
  its sentences, appears in the English original (untranslated strings fall back to
  English).
- `english-words`: in a non-English item, more English stopwords than stopwords of the
  gold language (at least two); for languages without a stopword list (cs, ru, ga, eo),
  English stopwords of three letters or more ("the", "and", "with") being two or more and
  15 % of the words or more. Catches quotes and untranslated text the other filters miss.
- `duplicate`: the same text already taken (in any language).
- `ambiguous`: the same text under two gold languages (both dropped).

Sampling: per language and kind, sources take turns (each source's items shuffled with a
fixed seed) until `--per-language` sentences and `--paragraphs` paragraphs are taken, so
that no single package dominates a language. A fortune may give a paragraph item and,
separately, sentence items.

Evaluation is bench/detect_eval.py's own `evaluate` and `print_figures`: every item goes
through the detect stage as a one-paragraph document, and the table is the same.
`--errors FILE` writes every misclassified item (backend, gold, guess, kind, source
package, text cut to 200 characters) as TSV. `--dump FILE` writes the items in the format
of bench/data/detect/items.tsv, so that detect_eval.py can run them; do not commit it.
"""

from __future__ import annotations

import argparse
import gzip
import html
import random
import re
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from detect_eval import CONFIGURATIONS, evaluate, print_figures  # noqa: E402

from pipeline.text import split_sentences, stopwords, words  # noqa: E402

DEFAULT_CACHE = Path.home() / ".cache" / "newsum" / "detect-external"
SEED = 20250401

# package → gold language, kind of source
FORTUNES = {"fortunes": "en", "fortunes-it": "it", "fortunes-de": "de", "fortunes-es": "es",
            "fortunes-br": "pt", "fortunes-pl": "pl", "fortunes-cs": "cs", "fortunes-ru": "ru",
            "fortunes-ga": "ga", "fortunes-eo": "eo"}
REFERENCE = {f"debian-reference-{lang}": lang for lang in ("en", "it", "fr", "de", "es", "pt")}
MANPAGES = {"manpages": "en", "manpages-dev": "en",
            **{f"manpages-{lang}": lang for lang in ("it", "fr", "es", "de", "nl", "ro", "pl")}}
PACKAGES = {**FORTUNES, **REFERENCE, **MANPAGES}
ENGLISH_MANPAGES = ("manpages", "manpages-dev")

FORTUNE_FILES_SKIPPED = {"ascii-art", "asciiart", "banner", "translate-me", "translations", "perl",
                         "ethnic", "klasik-sk"}

SENTENCE_MAX_CHARS = 400
PARAGRAPH_MAX_CHARS = 1500
PARAGRAPH_SENTENCES = (2, 8)
MIN_LETTERS = 20
IDENTIFIER_SHARE = 0.4  # of the letters, in text marked as identifier
IDENTIFIER_TOKENS = 0.2  # of the words, tokens shaped like identifiers
NAMES_SHARE = 0.6
NAMES_SHARE_DE = 0.8

MARK_ON, MARK_OFF = "\x01", "\x02"  # around text marked as identifier (code, bold, links)


@dataclass(frozen=True)
class Item:
    lang: str
    kind: str
    text: str
    source: str


# ---------------------------------------------------------------- fetching


def fetch(cache: Path) -> None:
    """apt-get download every package into cache/debs, dpkg-deb -x each into cache/root/PACKAGE."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", *sorted(PACKAGES)], cwd=debs, check=True)
    for package in sorted(PACKAGES):
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            raise SystemExit(f"{package}: no .deb in {debs}")
        target = cache / "root" / package
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(target)], check=True)
        print(f"{package}: {found[-1].name} → {target}")


# ---------------------------------------------------------------- reading the sources


_CHAT = re.compile(r"^\s*(<[^>\s]{1,30}>|-:-|\*\s+\w+\s|\[\d\d:\d\d)")
_ATTRIBUTION = re.compile(r"^\s*(--|~)\s*\S")
_LAST_ATTRIBUTION = re.compile(r"^\s*[—–-]\s*\S+(\s+\S+){0,7}\s*$")  # the last line: "— Mark Twain"
_PAREN_LINE = re.compile(r"^\s*[(\[].*[)\]]\s*$")
_TRAILING_ATTRIBUTION = re.compile(r"\s+(--|—)\s+[^\s].{0,80}$")


def fortune_paragraphs(path: Path) -> tuple[list[str], int]:
    """The fortunes of one file, each a paragraph (its lines joined); and how many were chat."""
    text = path.read_text(encoding="utf-8", errors="replace")
    out, chats = [], 0
    for block in re.split(r"^%\s*$", text, flags=re.M):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if any(_CHAT.match(line) for line in lines):
            chats += 1
            continue
        kept = []
        for i, line in enumerate(lines):
            if _ATTRIBUTION.match(line) or _PAREN_LINE.match(line):
                continue
            if i == len(lines) - 1 and i and _LAST_ATTRIBUTION.match(line):
                continue
            kept.append(_TRAILING_ATTRIBUTION.sub("", line))
        if kept:
            out.append(" ".join(kept))
    return out, chats


def fortune_files(root: Path) -> list[Path]:
    base = root / "usr" / "share" / "games" / "fortunes"
    files = []
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base).parts
        if path.is_symlink() or not path.is_file() or path.suffix in (".dat", ".u8"):
            continue
        if "off" in rel[:-1] or path.name.removesuffix(".fortunes") in FORTUNE_FILES_SKIPPED:
            continue
        files.append(path)
    return files


_HTML_MARKED = {"code", "tt", "kbd", "pre", "samp", "var"}


def _html_text(element) -> str:
    """An element's text, identifiers (code, external links) between marks."""
    parts = [element.text or ""]
    for child in element:
        if not isinstance(child.tag, str):  # comments
            parts.append(child.tail or "")
            continue
        inner = _html_text(child)
        if child.tag in _HTML_MARKED or (child.tag == "a" and "ulink" in (child.get("class") or "")):
            inner = MARK_ON + inner.replace(MARK_ON, "").replace(MARK_OFF, "") + MARK_OFF
        parts.append(inner)
        parts.append(child.tail or "")
    return "".join(parts)


def reference_paragraphs(root: Path) -> list[str]:
    """The <p> elements of the Debian Reference's chapters, outside tables and titles."""
    import lxml.html

    out = []
    for path in sorted((root / "usr" / "share" / "debian-reference").glob("*.html")):
        if path.name.startswith("index."):
            continue
        tree = lxml.html.parse(str(path))
        for p in tree.iter("p"):
            if "title" in (p.get("class") or ""):
                continue
            if any(a.tag in ("td", "th", "pre", "table") for a in p.iterancestors()):
                continue
            out.append(_html_text(p))
    return out


# roff: the escapes that stand for a character; the rest print nothing
_ROFF_CHARS = {"aq": "'", "dq": '"', "lq": "“", "rq": "”", "oq": "‘", "cq": "’", "em": "—", "en": "–",
               "hy": "-", "mi": "-", "Fo": "«", "Fc": "»", "fo": "‹", "fc": "›", "bu": "•", "co": "©",
               "rg": "®", "tm": "™", "de": "°", "rs": "\\", "ti": "~", "ha": "^", "ga": "`", "pl": "+",
               "eq": "=", "sl": "/", "ba": "|", "Eu": "€", "eu": "€", "ss": "ß", "tf": "∴", "mu": "×",
               "di": "÷", "<=": "≤", ">=": "≥", "->": "→", "<-": "←", "lA": "⇐", "rA": "⇒", "sh": "#"}
_ROFF_FONT_MACROS = {"B", "I", "BI", "BR", "IB", "IR", "RB", "RI", "SB", "SM", "CW"}
_ROFF_BREAKS = {"sp", "PP", "LP", "P", "TP", "IP", "HP", "TQ", "SH", "SS", "RS", "RE", "br", "in", "ti",
                "UR", "UE", "MT", "ME", "bp", "ne", "SY", "YS", "OP"}
_ROFF_SKIPPED_SECTIONS = re.compile(
    r"^(NAME|NOM|NOME|NOMBRE|NAAM|NUME|NAZWA|"
    r"AUTHORS?|AUTEURS?|AUTORE|AUTORI|AUTOR|AUTORES|AUTOREN|AUTEUR\(S\)|AUTORZY|AUTORII|"
    r"TRANSLATION|TRADUCTION|TRADUZIONE|TRADUCCIÓN|TRADUCCION|ÜBERSETZUNG|VERTALING|TRADUCERE|"
    r"TŁUMACZENIE|COPYRIGHT|LICEN[SC]E|LICENZA|LICENCIA|LIZENZ|LICENTIE|LICENŢĂ|LICENȚĂ|"
    r"REPORTING BUGS|BUGS|FEHLER|BOGUES|SEGNALAZIONE DI ERRORI|ERRORES|COLOPHON|COLOFON|"
    r"KOLOFON|COLOPHON|HISTORY|HISTORIQUE|STORIA|HISTORIA|GESCHICHTE|GESCHIEDENIS|ISTORIC)\b",
    re.I)
_FONT = re.compile(r"\\f(\(..|\[[^\]]*\]|.)")


def _roff_escapes(text: str) -> str:
    text = re.sub(r"\\\".*$", "", text)  # comment
    text = re.sub(r"\\\((..)", lambda m: _ROFF_CHARS.get(m.group(1), ""), text)
    text = re.sub(r"\\\[([^\]]*)\]", lambda m: _ROFF_CHARS.get(m.group(1), ""), text)
    text = re.sub(r"\\\*(\(..|\[[^\]]*\]|.)", "", text)  # strings
    text = re.sub(r"\\n(\(..|\[[^\]]*\]|.)", "", text)  # registers
    text = re.sub(r"\\[hvwlLxDbo]'[^']*'", "", text)
    text = re.sub(r"\\s[+-]?(\d|\(\d\d|\[\d+\])", "", text)
    text = text.replace("\\-", "-").replace("\\e", "\\").replace("\\~", " ").replace("\\ ", " ")
    text = re.sub(r"\\[&|^%:c0/,!{}tp]", "", text)
    return re.sub(r"\\(.)", r"\1", text)


def _roff_inline(line: str, marked: bool = False) -> str:
    """One line of roff text with font changes turned into identifier marks."""
    out, bold = [], marked
    pos = 0
    for m in _FONT.finditer(line):
        chunk = line[pos:m.start()]
        out.append(MARK_ON + chunk + MARK_OFF if bold and chunk else chunk)
        font = m.group(1).strip("([]")
        bold = font not in ("R", "P", "", "1", "CR") if not marked else True
        pos = m.end()
    chunk = line[pos:]
    out.append(MARK_ON + chunk + MARK_OFF if bold and chunk else chunk)
    return _roff_escapes("".join(out))


def _roff_args(args: str) -> list[str]:
    return [a[1:-1] if a.startswith('"') and a.endswith('"') else a for a in re.findall(r'"[^"]*"|\S+', args)]


def roff_paragraphs(source: str) -> list[str]:
    """The running-text paragraphs of a man page, identifiers (bold, italic) between marks."""
    out: list[str] = []
    current: list[str] = []

    def flush():
        if current:
            out.append(" ".join(current))
            current.clear()

    nofill = table = definition = skip_section = False
    skip_next = 0
    for line in source.splitlines():
        if definition:
            definition = not line.startswith("..")
            continue
        if line.startswith((".\\\"", "'\\\"", "\\\"")) or line.strip() in (".", "'"):
            continue
        if skip_next:
            skip_next -= 1
            continue
        control = re.match(r"^[.']\s*([^\s\\]+)\s*(.*)$", line)
        if control:
            name, args = control.groups()
            if name in ("de", "am", "ig", "de1"):
                definition = True
            elif name in ("nf", "EX"):
                flush()
                nofill = True
            elif name in ("fi", "EE"):
                nofill = False
            elif name == "TS":
                flush()
                table = True
            elif name == "TE":
                table = False
            elif name in ("SH", "SS"):
                flush()
                heading = " ".join(_roff_args(args)).strip()
                if name == "SH":
                    if not heading:
                        skip_next = 1  # the heading is on the next line: judged as "other"
                        skip_section = False
                    else:
                        skip_section = bool(_ROFF_SKIPPED_SECTIONS.match(_roff_escapes(heading)))
            elif name in _ROFF_FONT_MACROS:
                if not (nofill or table or skip_section):
                    current.append(_roff_inline(" ".join(_roff_args(args)), marked=True))
            elif name in _ROFF_BREAKS:
                flush()
                if name in ("TP", "TQ"):
                    skip_next = 1  # the tag: an option, a file name
            continue
        if nofill or table or skip_section:
            continue
        if not line.strip():
            flush()
            continue
        current.append(_roff_inline(line))
    flush()
    return out


def man_pages(root: Path) -> list[Path]:
    return sorted(p for p in (root / "usr" / "share" / "man").rglob("*.gz") if not p.is_symlink())


def read_man(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")


# ---------------------------------------------------------------- filters


_LETTER = re.compile(r"[^\W\d_]")
_URL = re.compile(r"https?://|ftp://|www\.|\b[\w.+-]+@[\w-]+\.[\w.-]+")
_PATH = re.compile(r"(?:^|[\s(\"'«“])(?:~?/[\w.-]+|\./[\w.-]+|\.\./|[A-Z]:\\)|\b\w+/\w+/\w+")
_OPTION = re.compile(r"(?:^|[\s(\[\"'«“,])(?:--?[A-Za-z0-9][\w-]*|\+[a-z]\b)|\$[A-Z_{(]|\$\w")
_CODE_CHARS = re.compile(r"[{}<>=|\\`$_#@^~*]")
_CALL = re.compile(r"\b\w+\([^)\s]*\)")
_TOKEN = re.compile(r"\S+")
_IDENTIFIER = re.compile(r"^\W*(?:\w+_\w+|[a-z]+[A-Z]\w*|(?=\w*\d)(?=\w*[^\W\d_])\w+)\W*$")
_DOTTED = re.compile(r"^\W*\w+(?:\.\w+)+$")  # example.com, os.path (a final dot: z.B., e.g., p.es.)
# quoted literals; an apostrophe opens a quote only after a space or a bracket (not l'elenco)
_QUOTED = re.compile(r"(?<![\w'])'[^']*'(?!\w)|\"[^\"]*\"|`[^`']*'|«[^»]*»|“[^”]*”|„[^“”]*[“”]")
_SLOVAK = re.compile(r"[äôĺľŕÄÔĹĽŔ]")


def letters(text: str) -> int:
    return len(_LETTER.findall(text))


def _script_ok(text: str, lang: str) -> bool:
    chars = [ch for ch in text if ch.isalpha()]
    if not chars:
        return False
    if lang == "ru":
        cyrillic = sum("CYRILLIC" in unicodedata.name(ch, "") for ch in chars)
        return cyrillic >= 0.9 * len(chars)
    return all("LATIN" in unicodedata.name(ch, "") for ch in chars)


# English words no language measured here uses ("of" is Dutch, "are" Romanian, "by" Polish,
# "also" and "will" German, "is" and "an" Irish, "or" French): two of them are an English phrase.
ENGLISH_MARKERS = frozenset(
    "the and with from which that this these those were been you your its would should have has "
    "not their they what who there when into only than".split())


def _english_words(text: str, lang: str) -> bool:
    tokens = words(text)
    if not tokens:
        return False
    markers = sum(t in ENGLISH_MARKERS for t in tokens)
    if markers >= 2:
        return True
    english = stopwords("en")
    if stopwords(lang):  # the lists share words ("de", and "the" is in some): those count for neither
        n_en = sum(t in english and t not in stopwords(lang) for t in tokens)
        n_own = sum(t in stopwords(lang) and t not in english for t in tokens)
        return n_en >= 2 and n_en > n_own
    n_en = sum(t in english and len(t) >= 3 for t in tokens)
    return n_en >= 2 and n_en >= 0.15 * len(tokens)


def _no_function_words(text: str, lang: str) -> bool:
    """Five words or more and not one stopword of the language (which has a list): a
    string left in English, a list of terms."""
    own = stopwords(lang) - stopwords("en")
    tokens = words(text)
    return bool(own) and len(tokens) >= 5 and not any(t in own for t in tokens)


def _is_dotted(token: str) -> bool:
    """A dotted identifier (example.com, os.path); abbreviations (z.B., e.g., U.S.A.) are not."""
    token = token.rstrip(",;:!?)»”\"'")
    if not _DOTTED.match(token):
        return False
    return any(len(part) > 3 for part in re.findall(r"\w+", token))


def rejection(raw: str, lang: str, kind: str, source: str, sentences: list[str] = (),
              english: set[str] = frozenset()) -> str | None:
    """Why an item (its text with identifier marks) is not a clean gold item; None: it is.
    `sentences`: the item's sentences; `english`: the normalised sentences and paragraphs of
    the English original, for a translation."""
    text = raw.replace(MARK_ON, "").replace(MARK_OFF, "")
    n_letters = letters(text)
    if n_letters < MIN_LETTERS:
        return "short"
    if len(text) > (SENTENCE_MAX_CHARS if kind == "sentence" else PARAGRAPH_MAX_CHARS):
        return "long"
    if _URL.search(text):
        return "url"
    if _PATH.search(text):
        return "path"
    if _OPTION.search(text):
        return "option"
    tokens = _TOKEN.findall(text)
    n_code = len(_CODE_CHARS.findall(text))
    if n_code >= 2 or (_CALL.search(text) and n_code) or (
            len(tokens) >= 3 and all(t.isupper() for t in tokens if any(c.isalpha() for c in t))):
        return "code"
    marked = sum(letters(m) for m in re.findall(f"{MARK_ON}([^{MARK_OFF}]*){MARK_OFF}", raw))
    if source in REFERENCE or source in MANPAGES:  # quotes hold literal strings there
        marked += sum(letters(m) for m in _QUOTED.findall(raw.replace(MARK_ON, "").replace(MARK_OFF, "")))
    identifiers = sum(bool(_IDENTIFIER.match(t) or _is_dotted(t)) for t in tokens)
    if marked >= IDENTIFIER_SHARE * n_letters or identifiers >= max(1, IDENTIFIER_TOKENS * len(tokens)):
        return "identifiers"
    word_tokens = [t for t in tokens if any(c.isalpha() for c in t)]
    capitalised = sum(next(c for c in t if c.isalpha()).isupper() for t in word_tokens[1:])
    share = NAMES_SHARE_DE if lang == "de" else NAMES_SHARE  # German capitalises its nouns
    if len(word_tokens) >= 3 and capitalised > share * (len(word_tokens) - 1):
        return "names"
    if not _script_ok(text, lang):
        return "script"
    if english and (normalise(text) in english or any(
            normalise(s) in english for s in sentences if letters(s) >= MIN_LETTERS)):
        return "english-original"
    if source == "fortunes-cs" and _SLOVAK.search(text):
        return "slovak"
    if lang != "en" and _english_words(text, lang):
        return "english-words"
    if _no_function_words(text, lang):
        return "function-words"
    return None


def normalise(text: str) -> str:
    text = text.replace(MARK_ON, "").replace(MARK_OFF, "")
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def _split(paragraph: str, lang: str) -> list[str]:
    """Sentences of a paragraph (marks kept: pysbd treats them as any other character)."""
    return split_sentences(paragraph, lang)


# ---------------------------------------------------------------- extraction


def candidates(cache: Path) -> tuple[dict[str, list[tuple[str, str, list[str]]]], Counter]:
    """Per package: (kind, raw text, [sentences of a paragraph item]) before filtering."""
    roots = cache / "root"
    missing = [p for p in PACKAGES if not (roots / p).is_dir()]
    if missing:
        raise SystemExit(f"not fetched: {', '.join(sorted(missing))} (run with --fetch {cache})")
    out: dict[str, list] = {}
    pre = Counter()
    for package, lang in PACKAGES.items():
        root = roots / package
        if package in FORTUNES:
            paragraphs = []
            for path in fortune_files(root):
                found, chats = fortune_paragraphs(path)
                paragraphs += found
                pre[(package, "chat")] += chats
        elif package in REFERENCE:
            paragraphs = reference_paragraphs(root)
        else:
            paragraphs = [p for path in man_pages(root) for p in roff_paragraphs(read_man(path))]
        rows = []
        for paragraph in paragraphs:
            paragraph = re.sub(r"\s+", " ", html.unescape(paragraph)).strip()
            if not paragraph:
                continue
            sentences = _split(paragraph, lang)
            rows.append(("paragraph", paragraph, sentences))
            rows += [("sentence", s, [s]) for s in sentences]
        out[package] = rows
    return out, pre


def english_originals(cache: Path) -> tuple[set[str], set[str]]:
    """Normalised sentences and paragraphs of the English Debian Reference and man pages:
    the English man pages of the packages, and those installed on this machine with the
    name of a translated page (/usr/share/man/manN), since the translated pages come from
    many packages."""
    roots = cache / "root"
    reference = set()
    for paragraph in reference_paragraphs(roots / "debian-reference-en"):
        reference.add(normalise(paragraph))
        reference.update(normalise(s) for s in _split(normalise(paragraph), "en"))
    names = {p.name for package, lang in MANPAGES.items() if lang != "en" for p in man_pages(roots / package)}
    pages = [p for package in ENGLISH_MANPAGES for p in man_pages(roots / package)]
    system = Path("/usr/share/man")
    if system.is_dir():
        pages += sorted(p for d in system.glob("man*") for p in d.glob("*.gz") if p.name in names)
    manual = set()
    for path in pages:
        try:
            source = read_man(path)
        except (OSError, EOFError, gzip.BadGzipFile):
            continue
        for paragraph in roff_paragraphs(source):
            paragraph = normalise(paragraph)
            manual.add(paragraph)
            manual.update(normalise(s) for s in _split(paragraph, "en"))
    return reference, manual


def extract(cache: Path) -> tuple[list[Item], Counter, Counter]:
    """The clean items of every package; the counts of rejections (package, kind, reason)
    and of candidates (package, kind)."""
    raw, pre = candidates(cache)
    english_reference, english_manual = english_originals(cache)
    rejected = Counter({(package, "paragraph", reason): n for (package, reason), n in pre.items()})
    seen: dict[str, set[str]] = defaultdict(set)  # text → gold languages
    kept: list[Item] = []
    total = Counter()
    for package in sorted(raw):
        lang = PACKAGES[package]
        english = english_reference if package in REFERENCE else english_manual
        for kind, text, sentences in raw[package]:
            total[(package, kind)] += 1
            if kind == "paragraph" and not (PARAGRAPH_SENTENCES[0] <= len(sentences) <= PARAGRAPH_SENTENCES[1]):
                rejected[(package, kind, "sentences")] += 1
                continue
            original = english if lang != "en" and package not in FORTUNES else frozenset()
            reason = rejection(text, lang, kind, package, sentences, original)
            clean = normalise(text)
            if reason is None and clean in seen:
                reason = "duplicate"
                seen[clean].add(lang)
            if reason:
                rejected[(package, kind, reason)] += 1
                continue
            seen[clean].add(lang)
            kept.append(Item(lang, kind, clean, package))
    ambiguous = {text for text, langs in seen.items() if len(langs) > 1}
    for item in kept:
        if item.text in ambiguous:
            rejected[(item.source, item.kind, "ambiguous")] += 1
    kept = [item for item in kept if item.text not in ambiguous]
    return kept, rejected, total


def sample(items: list[Item], sentences: int, paragraphs: int, seed: int = SEED) -> list[Item]:
    """Up to `sentences` sentences and `paragraphs` paragraphs per language, the language's
    sources taking turns, each source's items in a seeded shuffle."""
    pools: dict[tuple[str, str], dict[str, list[Item]]] = defaultdict(lambda: defaultdict(list))
    for item in items:
        pools[(item.lang, item.kind)][item.source].append(item)
    out = []
    for (lang, kind), by_source in sorted(pools.items()):
        want = sentences if kind == "sentence" else paragraphs
        queues = []
        for source in sorted(by_source):
            pool = sorted(by_source[source], key=lambda it: it.text)
            random.Random(f"{seed}/{lang}/{kind}/{source}").shuffle(pool)
            queues.append(pool)
        taken = []
        while len(taken) < want and any(queues):
            for queue in queues:
                if queue and len(taken) < want:
                    taken.append(queue.pop(0))
        out += taken
    return out


# ---------------------------------------------------------------- reporting


def print_extraction(items: list[Item], chosen: list[Item], rejected: Counter, total: Counter) -> None:
    print("candidates → kept (after filters) → sampled, per package and kind")
    kept = Counter((it.source, it.kind) for it in items)
    taken = Counter((it.source, it.kind) for it in chosen)
    for package, kind in sorted(total):
        print(f"  {package:22} {kind:9} {total[(package, kind)]:7} → {kept[(package, kind)]:6} → "
              f"{taken[(package, kind)]:4}")
    reasons = sorted({r for _, _, r in rejected})
    print("\nrejected, per filter (sentences / paragraphs)")
    for reason in sorted(reasons, key=lambda r: -sum(n for (_, _, rr), n in rejected.items() if rr == r)):
        s = sum(n for (_, k, r), n in rejected.items() if r == reason and k == "sentence")
        p = sum(n for (_, k, r), n in rejected.items() if r == reason and k == "paragraph")
        print(f"  {reason:17} {s:7} / {p:6}")
    print("\nsampled, per language (sentences / paragraphs)")
    per = Counter((it.lang, it.kind) for it in chosen)
    for lang in sorted({it.lang for it in chosen}):
        print(f"  {lang}: {per[(lang, 'sentence')]:4} / {per[(lang, 'paragraph')]:4}")


def print_parts(chosen: list[Item], predictions: list[str]) -> None:
    """Accuracy per part, split by source: development (the fortunes packages), where settings
    may be tuned, and test (Debian Reference and man pages), where they are only checked."""
    for part, wanted in (("development (fortunes)", True), ("test (Debian Reference, man pages)", False)):
        right: Counter = Counter()
        total: Counter = Counter()
        for item, guess in zip(chosen, predictions, strict=True):
            if (item.source in FORTUNES) == wanted:
                total[item.kind] += 1
                right[item.kind] += guess == item.lang
        figures = "  ".join(f"{kind} {100 * right[kind] / total[kind]:.2f} % ({right[kind]}/{total[kind]})"
                            for kind in sorted(total))
        print(f"  {part:36}: all {100 * sum(right.values()) / max(1, sum(total.values())):.2f} %  {figures}")


def write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(header) + "\n")
        for row in rows:
            fh.write("\t".join(re.sub(r"[\t\r\n]+", " ", str(v)) for v in row) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fetch", nargs="?", const=str(DEFAULT_CACHE), metavar="DIR",
                        help=f"download and unpack the packages into DIR (default {DEFAULT_CACHE}), then stop")
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), help="where --fetch put the packages")
    parser.add_argument("--backend", action="append", choices=sorted(CONFIGURATIONS),
                        help="configuration to evaluate (repeatable; default: ensemble, fasttext, lingua, langdetect)")
    parser.add_argument("--per-language", type=int, default=400, help="sentences per language (default 400)")
    parser.add_argument("--paragraphs", type=int, default=200, help="paragraphs per language (default 200)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the sampling")
    parser.add_argument("--errors", metavar="FILE", help="write every misclassified item to FILE (TSV)")
    parser.add_argument("--dump", metavar="FILE", help="write the items as TSV for bench/detect_eval.py (do not commit)")
    parser.add_argument("--no-eval", action="store_true", help="extract (and dump) only")
    parser.add_argument("--parts", action="store_true",
                        help="also accuracy per part: development (the fortunes packages) and test (the rest)")
    args = parser.parse_args(argv)
    if args.fetch:
        fetch(Path(args.fetch).expanduser())
        return
    items, rejected, total = extract(Path(args.cache).expanduser())
    chosen = sample(items, args.per_language, args.paragraphs, args.seed)
    print_extraction(items, chosen, rejected, total)
    if args.dump:
        write_tsv(Path(args.dump), ["lang", "kind", "text"], [[it.lang, it.kind, it.text] for it in chosen])
        print(f"\n{len(chosen)} items written to {args.dump}")
    if args.no_eval:
        return
    triples = [(it.lang, it.kind, it.text) for it in chosen]
    langs = len({it.lang for it in chosen})
    print(f"\n{len(chosen)} items in {langs} languages ({dict(Counter(it.kind for it in chosen))})")
    errors = []
    for name in args.backend or ["ensemble", "fasttext", "lingua", "langdetect"]:
        r = evaluate(CONFIGURATIONS[name], triples, [])
        print_figures(name, r, confusions=True)
        if args.parts:
            print_parts(chosen, r["predictions"])
        sys.stdout.flush()
        for it, guess in zip(chosen, r["predictions"], strict=True):
            if guess != it.lang:
                errors.append([name, it.lang, guess, it.kind, it.source, it.text[:200]])
    if args.errors:
        write_tsv(Path(args.errors), ["backend", "gold", "guess", "kind", "source", "text"], errors)
        print(f"\n{len(errors)} misclassified items written to {args.errors}")


if __name__ == "__main__":
    main()
