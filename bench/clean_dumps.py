"""The corpus's pages as other tools dump them: text browsers (w3m, lynx) and a browser's copy
of the whole page, beside inscriptis.

bench/clean_corpus.py makes each page's text dump with inscriptis, which keeps a page's
layout one paragraph a line. People make text dumps with other tools too, and each has its
own layout: `w3m -dump` and `lynx -dump` wrap every paragraph at the screen's width, indent,
mark buttons, form fields and images, and number or bullet list items their own way; a
browser's copy (`browser`, an approximation of innerText written here with lxml) has no
bullets, glues inline links to their neighbours and leaves out what the page hides; a
scraper's Markdown (`markdown`, with markdownify) writes every link as [text](url). A clean
stage tuned on one tool's dumps should not fall apart on another's, so this script renders the
same HTML pages with each tool (same gold, same split) for evaluation and for training:

    apt-get install w3m lynx        # Debian packages; only this benchmark needs them
    python bench/clean_dumps.py [--corpus ~/.cache/newsum/clean-corpus] [--out ~/.cache/newsum/clean-dumps]
    python bench/clean_eval.py --data ~/.cache/newsum/clean-dumps/w3m/test/text
    python bench/train_clean_model.py --dumps ~/.cache/newsum/clean-dumps   # train on all layouts

Written as OUT/<tool>/<split>/text/NAME.{txt,gold.json} (the corpus's gold files copied), in
the same git-ignored cache as the corpus (the pages' licences are the corpus's).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path.home() / ".cache" / "newsum" / "clean-corpus"
DEFAULT_OUT = Path.home() / ".cache" / "newsum" / "clean-dumps"
WIDTH = 80  # the terminal width both browsers wrap at by default

TOOLS = {
    "w3m": ["w3m", "-dump", "-T", "text/html", "-I", "utf-8", "-O", "utf-8", "-cols", str(WIDTH)],
    "lynx": ["lynx", "-dump", "-nolist", f"-width={WIDTH}", "-assume_charset=utf-8",
             "-display_charset=utf-8", "-force_html", "-stdin"],
    "browser": None,  # browser_copy below, no program
    "markdown": None,  # markdown_copy below (markdownify)
}
# The cached pages are UTF-8 text; a <meta> that still names the page's first charset would
# make a browser decode them wrongly.
_META_CHARSET = re.compile(r"<meta[^>]+charset[^>]*>", re.I)


_BLOCK_TAGS = frozenset("address article aside blockquote dd details dialog div dl dt fieldset figcaption figure "
                        "footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main nav ol p pre section summary table "
                        "tbody thead tfoot tr ul caption legend option select label".split())
_PARAGRAPH_TAGS = frozenset("p h1 h2 h3 h4 h5 h6 blockquote pre figure table ul ol hr".split())
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _parse(html: str):
    """The page's tree (from UTF-8 bytes: lxml refuses text that still declares an encoding)."""
    from lxml import html as lxml_html

    return lxml_html.fromstring(html.encode("utf-8"), parser=lxml_html.HTMLParser(encoding="utf-8"))


# What no reader sees; with `hidden`, also what the page hides and its controls.
_UNSEEN = "//script|//style|//noscript|//template|//head|//svg"
_HIDDEN = "|//iframe|//input|//button|//*[@hidden]|//*[@aria-hidden='true']"


def _seen_tree(html: str, hidden: bool):
    """The page's tree without what no reader sees (and, with `hidden`, what the page hides)."""
    tree = _parse(html)
    dropped = tree.xpath(_UNSEEN + (_HIDDEN if hidden else ""))
    if hidden:
        dropped += [e for e in tree.xpath("//*[@style]") if _HIDDEN_STYLE.search(e.get("style"))]
    for element in dropped:
        if element.getparent() is not None:
            element.drop_tree()
    return tree


def browser_copy(html: str) -> str:
    """The text a browser copies when a reader selects the whole page (an approximation of
    innerText without CSS): white space collapsed, each block element on a line of its own, a
    blank line around paragraphs and headings, table cells apart by a tab, inline links glued to
    their neighbours as they are displayed, and what the page hides left out."""
    try:
        tree = _seen_tree(html, hidden=True)
    except (ValueError, TypeError):
        return ""
    parts: list[str] = []

    def walk(node) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == "br":
            parts.append("\n")
        elif tag in _BLOCK_TAGS:
            parts.append("\n\n" if tag in _PARAGRAPH_TAGS else "\n")
        elif tag in ("td", "th"):
            parts.append("\t")
        if tag and node.text:
            parts.append(re.sub(r"\s+", " ", node.text))
        for child in node:
            walk(child)
            if child.tail:
                parts.append(re.sub(r"\s+", " ", child.tail))
        if tag in _BLOCK_TAGS:
            parts.append("\n\n" if tag in _PARAGRAPH_TAGS else "\n")

    walk(tree)
    lines = [line.strip(" ") for line in "".join(parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def markdown_copy(html: str) -> str:
    """The page as a scraper saves it in Markdown (markdownify, links and headings kept, images
    dropped), after the parts no reader sees (scripts, styles, the head)."""
    from lxml import etree
    from markdownify import markdownify

    try:
        html = etree.tostring(_seen_tree(html, hidden=False), encoding="unicode")
    except (ValueError, TypeError):
        pass
    return re.sub(r"\n{3,}", "\n\n", markdownify(html, heading_style="ATX", strip=["img"]))


def render(tool: str, html: str) -> str:
    if tool == "browser":
        return browser_copy(html)
    if tool == "markdown":
        return markdown_copy(html)
    page = _META_CHARSET.sub("", html)
    page = '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n' + page
    done = subprocess.run(TOOLS[tool], input=page.encode("utf-8"), capture_output=True, timeout=60, check=True)
    return done.stdout.decode("utf-8", "replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--tools", default=",".join(TOOLS))
    args = parser.parse_args()
    tools = args.tools.split(",")
    missing = [t for t in tools if TOOLS[t] and shutil.which(TOOLS[t][0]) is None]
    if missing:
        sys.exit(f"not installed: {', '.join(missing)} (apt-get install {' '.join(missing)})")
    for split in ("dev", "test"):
        source = args.corpus / split / "html"
        golds = sorted(source.glob("*.gold.json"))
        for tool in tools:
            folder = args.out / tool / split / "text"
            folder.mkdir(parents=True, exist_ok=True)
            failed = 0
            for gold in golds:
                name = gold.name[: -len(".gold.json")]
                try:
                    text = render(tool, (source / f"{name}.html").read_text(encoding="utf-8"))
                except (subprocess.SubprocessError, OSError):
                    failed += 1
                    continue
                if not text.strip():  # the tool found nothing to show (a page its parser rejects)
                    failed += 1
                    (folder / f"{name}.txt").unlink(missing_ok=True)
                    (folder / gold.name).unlink(missing_ok=True)
                    continue
                (folder / f"{name}.txt").write_text(text, encoding="utf-8")
                shutil.copy(gold, folder / gold.name)
            print(f"{tool} {split}: {len(golds) - failed} pages in {folder}" + (f" ({failed} failed)" if failed else ""))


if __name__ == "__main__":
    main()
