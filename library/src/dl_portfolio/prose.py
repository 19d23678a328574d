"""The paragraphs of a Markdown page as a person reads them, and their fingerprints: how `ready` tells a paragraph the
author wrote from one still word for word the template's (template_prose.py lists the template's fingerprints).

A paragraph is a run of lines between blank lines, or one item of a list; headings, HTML comments and the blocks
`make report` generates (between `<!-- NAME:start -->` and `<!-- NAME:end -->`) are not prose. Whitespace and line
breaks do not count: re-wrapping a paragraph keeps it the template's, changing a word makes it the author's.
"""

import hashlib
import re
from dataclasses import dataclass

COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
GENERATED = re.compile(r"<!-- (\w+):start -->.*?<!-- \1:end -->", re.DOTALL)
ITEM = re.compile(r"(?:[-*+]|\d+\.) ")


@dataclass(frozen=True)
class Paragraph:
    """One paragraph: the line it starts on (1-based), the section heading above it, its text on one line."""

    line: int
    section: str
    text: str

    @property
    def fingerprint(self) -> str:
        """The first 16 hex digits of the SHA-256 of the text: what template_prose.py lists."""
        return fingerprint(self.text)


def fingerprint(text: str) -> str:
    """A paragraph's fingerprint, whitespace-insensitive."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


def blank_out(text: str, pattern: re.Pattern) -> str:
    """`text` with each match of `pattern` replaced by as many newlines as it spans: line numbers stay right."""
    return pattern.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def paragraphs(text: str) -> list[Paragraph]:
    """The prose paragraphs of a Markdown page, in order."""
    lines = blank_out(blank_out(text, GENERATED), COMMENT).split("\n")
    found, section, current, start = [], "", [], 0

    def close():
        joined = " ".join(" ".join(current).split())
        if joined:
            found.append(Paragraph(start, section, joined))
        current.clear()

    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            close()
        elif stripped.startswith("#"):
            close()
            section = stripped.lstrip("#").strip()
        elif ITEM.match(stripped) or not current:
            close()  # a list item starts a paragraph of its own
            current, start = [ITEM.sub("", stripped, count=1)], number
        else:
            current.append(stripped)
    close()
    return found
