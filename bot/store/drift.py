"""Has the source page changed? A newer saved copy of the page against the facts' quotes.

Every fact carries the sentence of the page it came from, so a fact whose quote the newer
copy no longer contains is stale: the assistant would be stating what the page stopped saying.
Sentences that no quote and no `not_facts` entry covers are new content to transcribe, and a
quote now under another heading of the page is a topic change. White space, bullets, curly
quotes and case are not changes.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
import textwrap
from bisect import bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.settings import PROJECT_ROOT, Settings
from bot.store.content import (
    Content,
    ContentError,
    FactSpec,
    SourceSpec,
    page_sentences,
    read_content,
    squash,
)

# A saved page is well under a megabyte; anything this size is not one.
MAX_PAGE_BYTES = 5 * 1024 * 1024
# A heading in plain text: a short line on its own, without the punctuation that ends a sentence.
MAX_HEADING_WORDS = 8

_QUOTE_MARKS = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'"}
    | {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'}
)
_BULLET = "•◦▪‣·*\u2013\u2014-"
_BULLET_TOKEN = re.compile(rf"(?<!\S)[{_BULLET}]+(?!\S)")
_LEADING_BULLET = re.compile(rf"^\s*[{_BULLET}]+\s*")
_SENTENCE_END = (".", ",", ":", ";", "!", "?")
# What may join two quotes that make up one sentence ("... patients and they clean ...").
_JOINING_WORDS = frozenset(
    "and or but although though however so also then while whereas yet".split()  # noqa: SIM905
)

_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Elements that start a new line of text; any other element (a, span, strong...) is inline.
_BLOCK_TAGS = _HEADING_TAGS | frozenset(
    "address article blockquote body caption dd details div dl dt fieldset figcaption figure "  # noqa: SIM905
    "footer header hr li main ol p pre section summary table tbody td tfoot th thead tr ul".split()
)
# Never the article: page furniture, and what a browser does not show.
_NOT_ARTICLE = (
    "script, style, noscript, template, iframe, object, svg, canvas, nav, aside, form, button, "
    "select, textarea, dialog, [role=navigation], [role=banner], [role=contentinfo], "
    "[role=complementary], [role=search], [role=dialog], [hidden], [aria-hidden=true]"
)
_LOOKS_LIKE_HTML = re.compile(
    r"<(?:!doctype\s+html|html|head|body|main|article|p|div|h[1-6])\b", re.I
)
_DECLARED_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)


class PageError(ValueError):
    """The file given is not a readable copy of a source page; the message says why."""


def fold(text: str) -> str:
    """The form two texts are compared in: no bullets, straight quotes, one space, lower case."""
    return squash(_BULLET_TOKEN.sub(" ", text.translate(_QUOTE_MARKS))).casefold()


@dataclass(frozen=True)
class PageLine:
    """A line of a page (white space squashed, bullet gone) and the heading it sits under."""

    text: str
    heading: str
    is_heading: bool = False


@dataclass(frozen=True)
class Page:
    lines: tuple[PageLine, ...]

    @classmethod
    def from_blocks(cls, blocks: Iterable[tuple[str, bool]]) -> Page:
        lines: list[PageLine] = []
        heading = ""
        for raw, is_heading in blocks:
            text = squash(_LEADING_BULLET.sub("", raw))
            if not text:
                continue
            heading = text if is_heading else heading
            lines.append(PageLine(text, heading, is_heading))
        return cls(tuple(lines))

    @cached_property
    def _folded(self) -> tuple[str, list[int]]:
        """The whole page folded into one line, and where each of its lines starts in it."""
        folded = [fold(line.text) for line in self.lines]
        starts: list[int] = []
        position = 0
        for text in folded:
            starts.append(position)
            position += len(text) + 1
        return " ".join(folded), starts

    def heading_of(self, quote: str) -> str | None:
        """The heading above where `quote` starts (it may span lines); None when it is absent."""
        joined, starts = self._folded
        found = re.search(rf"(?<!\w){re.escape(fold(quote))}(?!\w)", joined)
        if found is None:
            return None
        return self.lines[bisect_right(starts, found.start()) - 1].heading

    def sentences(self) -> list[tuple[str, str]]:
        """Each sentence, bullet and heading of the page once, with the heading it is under."""
        seen: set[str] = set()
        found: list[tuple[str, str]] = []
        for line in self.lines:
            for sentence in page_sentences(line.text):
                if fold(sentence) not in seen:
                    seen.add(fold(sentence))
                    found.append((sentence, line.heading))
        return found


def text_page(text: str) -> Page:
    """A plain-text page, heading by heading.

    A heading is a short line standing alone that ends no sentence. A line that goes on from
    one ending no sentence belongs to the same paragraph (hard-wrapped text), unless it is a
    bullet or follows a bullet without being indented.
    """
    raw = [line.rstrip() for line in text.splitlines()]
    blocks: list[tuple[str, bool]] = []
    for i, line in enumerate(raw):
        stripped = line.strip()
        before = raw[i - 1].strip() if i else ""
        after = raw[i + 1].strip() if i + 1 < len(raw) else ""
        bullet = bool(_LEADING_BULLET.match(stripped))
        goes_on = (
            bool(stripped and blocks and blocks[-1][0])
            and not (bullet or blocks[-1][1])
            and not blocks[-1][0].endswith((".", "!", "?", ":"))
            and (line[:1].isspace() or not _LEADING_BULLET.match(before))
        )
        if goes_on:
            blocks[-1] = (f"{blocks[-1][0]} {stripped}", False)
            continue
        is_heading = (
            not (before or after or bullet)
            and len(stripped.split()) <= MAX_HEADING_WORDS
            and not stripped.endswith(_SENTENCE_END)
            and ">" not in stripped
            and any(c.isalpha() for c in stripped)
        )
        blocks.append((stripped, is_heading))
    return Page.from_blocks(blocks)


def html_page(html: str) -> Page:
    """The article of a saved HTML page: its main content, without menus, banners or footers."""
    tree = LexborHTMLParser(html)
    root = tree.css_first("main, [role=main]") or tree.css_first("article") or tree.body
    if root is None:
        return Page(())
    furniture = root.css(_NOT_ARTICLE) + [
        node for node in root.css("header, footer") if not _inside(node, ("article", "main"))
    ]
    # Remove outermost first and never a node inside one already removed (freed memory).
    removed = {node.mem_id for node in furniture}
    for node in furniture:
        if not _inside(node, removed=removed):
            node.decompose()
    return Page.from_blocks(_blocks(root))


def _inside(node: LexborNode, tags: Collection[str] = (), removed: Collection[int] = ()) -> bool:
    """Whether an ancestor of `node` has one of `tags` or is one of the `removed` nodes."""
    parent = node.parent
    while parent is not None:
        if parent.tag in tags or parent.mem_id in removed:
            return True
        parent = parent.parent
    return False


def _blocks(root: LexborNode) -> list[tuple[str, bool]]:
    """The text of `root` line by line, in document order, each marked heading or not.

    Walks with an explicit stack, so deeply nested markup cannot exhaust Python's recursion.
    """
    blocks: list[tuple[str, bool]] = []
    parts: list[str] = []
    headings = 0  # how many heading elements the walk is inside

    def flush() -> None:
        text = squash("".join(parts))
        parts.clear()
        if text:
            blocks.append((text, headings > 0))

    stack: list[LexborNode | str] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):  # the end of a block element
            flush()
            headings -= item in _HEADING_TAGS
            continue
        tag = item.tag or ""
        if item.is_text_node:
            parts.append(item.text(deep=False))
        elif tag == "br":
            flush()
        elif item.is_element_node:
            if tag in _BLOCK_TAGS:
                flush()
                headings += tag in _HEADING_TAGS
                stack.append(tag)
            stack.extend(reversed(list(item.iter(include_text=True))))
    flush()
    return blocks


def read_page(path: Path) -> Page:
    """A saved copy of a page, HTML or plain text; PageError says plainly what is wrong."""
    try:
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            raise PageError(f"{path} is {size // 1024 // 1024} MB: too large for a saved page")
        data = path.read_bytes()
    except FileNotFoundError:
        raise PageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PageError(f"{path} is a folder; give the saved page (.html or .txt)") from None
    except OSError as exc:
        raise PageError(f"{path} cannot be read ({exc.strerror})") from None
    if not data.strip():
        raise PageError(f"{path} is empty")
    if b"\0" in data[:8192]:
        raise PageError(f"{path} is a binary file, not a saved page (HTML or plain text)")
    text = _decode(data, path)
    is_html = path.suffix.lower() in (".html", ".htm") or _LOOKS_LIKE_HTML.search(text[:4096])
    page = html_page(text) if is_html else text_page(text)
    if not page.lines:
        raise PageError(f"{path} has no text{' in its article' if is_html else ''}")
    return page


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _DECLARED_CHARSET.search(data[:4096])
    if declared is not None:
        try:
            return data.decode(codecs.lookup(declared.group(1).decode("ascii")).name)
        except (LookupError, UnicodeDecodeError):
            pass
    raise PageError(f"{path} is not text (neither UTF-8 nor the character set it declares)")


@dataclass(frozen=True)
class Moved:
    """A fact whose quote is now under another heading of the page: its topic may be wrong."""

    fact: FactSpec
    was: str
    now: str


@dataclass(frozen=True)
class Drift:
    """What changed on one source page, as a newer copy of it shows."""

    source: SourceSpec
    page: Path
    stale: tuple[FactSpec, ...]
    new: tuple[tuple[str, str], ...]  # (sentence, heading it is under)
    moved: tuple[Moved, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": {
                "url": self.source.url,
                "title": self.source.title,
                "content": _relative(Path(self.source.path)),
                "snapshot": _relative(self.source.snapshot),
            },
            "page": str(self.page),
            "stale": [_fact_dict(f) for f in self.stale],
            "new": [{"sentence": s, "heading": h} for s, h in self.new],
            "moved": [{**_fact_dict(m.fact), "was": m.was, "now": m.now} for m in self.moved],
        }


def _fact_dict(fact: FactSpec) -> dict[str, Any]:
    return {"topic": fact.topic, "roles": list(fact.roles), "text": fact.text, "quote": fact.quote}


def compare(source: SourceSpec, facts: Sequence[FactSpec], page: Page, path: Path) -> Drift:
    """The source's facts (from its snapshot) against `page`, the newer copy read from `path`."""
    mine = [f for f in facts if f.source_url == source.url]
    old = text_page(source.text)
    stale: list[FactSpec] = []
    moved: list[Moved] = []
    for fact in mine:
        now = page.heading_of(fact.quote)
        was = old.heading_of(fact.quote)
        if now is None:
            stale.append(fact)
        elif was is not None and fold(was) != fold(now):
            moved.append(Moved(fact, was, now))
    quotes = (*source.not_facts, *(f.quote for f in mine))
    covering = {fold(q) for q in quotes} | {fold(s) for q in quotes for s in page_sentences(q)}
    new = tuple((s, h) for s, h in page.sentences() if not _covered(fold(s), covering))
    return Drift(source, path, tuple(stale), new, tuple(moved))


def _covered(sentence: str, covering: set[str]) -> bool:
    """Whether quotes and `not_facts` account for every word of the sentence.

    A quote may be part of a sentence (two facts from one sentence), so a sentence is covered
    when nothing but punctuation and joining words is left once every quote in it is taken out.
    """
    if sentence in covering:
        return True
    rest = sentence
    for part in sorted(covering, key=len, reverse=True):
        if part in rest:
            rest = rest.replace(part, " ")
    return all(word in _JOINING_WORDS for word in re.findall(r"\w+", rest))


def match_source(content: Content, page: Page, path: Path) -> SourceSpec:
    """The source whose snapshot shares the most sentences with `page` (it must share one)."""
    on_page = {fold(s) for s, _ in page.sentences()}
    shared = {
        source.url: sum(fold(s) in on_page for s, _ in text_page(source.text).sentences())
        for source in content.sources
    }
    best = max(content.sources, key=lambda s: shared[s.url], default=None)
    if best is None or shared[best.url] == 0:
        titles = ", ".join(f'"{s.title}"' for s in content.sources) or "(no source pages)"
        raise PageError(
            f"{path} does not look like a copy of the source page: not one sentence or heading "
            f"of {titles} is on it"
        )
    return best


def check(content: Content, pages: Sequence[Path]) -> list[Drift]:
    """One report per saved page; PageError on the first file that is not a copy of a source."""
    reports = []
    for path in pages:
        page = read_page(path)
        source = match_source(content, page, path)
        reports.append(compare(source, content.facts, page, path))
    return reports


def run(content_dir: Path, pages: Sequence[Path], as_json: bool, out: TextIO) -> int:
    """`python -m bot store check --against FILE`: 0 nothing stale, 1 stale facts, 2 bad file."""
    content = read_content(content_dir)
    try:
        reports = check(content, pages)
    except PageError as exc:
        if as_json:
            print(json.dumps({"error": str(exc)}), file=out)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps({"reports": [r.as_dict() for r in reports]}, indent=2), file=out)
    else:
        for report in reports:
            _print_report(report, out)
    return 1 if any(r.stale for r in reports) else 0


def _print_report(report: Drift, out: TextIO) -> None:
    def item(label: str, text: str) -> None:
        print(
            textwrap.fill(text, 96, initial_indent=f"  - {label}", subsequent_indent="      "),
            file=out,
        )

    print(
        f'{report.page} against "{report.source.title}" ({_relative(report.source.snapshot)})',
        file=out,
    )
    if report.stale:
        print(f"Stale: {len(report.stale)} fact(s) whose quote is no longer on the page", file=out)
        for fact in report.stale:
            item(f"{fact.topic}: ", f'"{fact.quote}"')
    if report.new:
        print(f"New: {len(report.new)} sentence(s) no fact and no not_facts entry covers", file=out)
        for sentence, heading in report.new:
            item(f"under {heading!r}: " if heading else "", f'"{sentence}"')
    if report.moved:
        print(f"Moved: {len(report.moved)} fact(s) whose quote is under another heading", file=out)
        for moved in report.moved:
            item(f"{moved.fact.topic}: {moved.was!r} -> {moved.now!r}: ", f'"{moved.fact.quote}"')
    summary = f"{len(report.stale)} stale, {len(report.new)} new, {len(report.moved)} moved"
    if report.stale or report.new or report.moved:
        summary += f": update {_relative(Path(report.source.path))} and its snapshot"
    print(summary + ".", file=out)


def stale_warning(settings: Settings) -> str | None:
    """One line for `bot run` when SOURCE_PAGE_LATEST is set and facts are stale against it."""
    path = settings.source_page_latest
    if path is None:
        return None
    try:
        reports = check(read_content(settings.content_dir), [path])
    except (PageError, ContentError) as exc:
        return f"warning: SOURCE_PAGE_LATEST cannot be checked: {exc}"
    stale = sum(len(r.stale) for r in reports)
    if not stale:
        return None
    return (
        f"warning: {stale} fact(s) are no longer on the newer copy of the page {path}; "
        f"see python -m bot store check --against {path}"
    )


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
