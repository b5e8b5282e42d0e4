"""A streaming, safe XML reader for the national exports.

lxml's iterparse with entities left unresolved, no DTD loading, no network access and the default size limits
(no `huge_tree`): an external entity (`<!ENTITY x SYSTEM "file:///etc/passwd">`) is never read, and an entity
reference in a value makes that record rejected. Each record element is cleared once handled, and its finished
siblings dropped, so memory stays flat whatever the file size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from lxml import etree


class UnsafeXML(ValueError):
    """A record uses an XML construct we refuse (an entity reference)."""


# lxml parser settings of every reader here: no entity resolved, no DTD loaded, no network, default size limits.
SAFE_SETTINGS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False,
                 "huge_tree": False, "remove_comments": True, "remove_pis": True}


def _free(element: etree._Element) -> None:
    """Clear a record once handled, and drop its finished siblings."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def peek(path: str | Path) -> tuple[str, bool]:
    """(root tag, whether the document declares entities), reading no further than the root's start tag.

    libxml2 leaves entity references in texts unresolved here, but expands internal entities inside attribute
    values: every importer refuses a file that declares entities (no national export does).
    """
    context = etree.iterparse(str(path), events=("start",), **SAFE_SETTINGS)
    for _event, element in context:
        dtd = element.getroottree().docinfo.internalDTD
        return element.tag, dtd is not None and any(True for _entity in dtd.iterentities())
    return "", False


def iter_elements(path: str | Path, tags: tuple[str, ...]) -> Iterator[tuple[int, etree._Element]]:
    """Yield (record number from 1, element) for each element named in `tags`, then free it.

    Raises lxml.etree.XMLSyntaxError (a subclass of SyntaxError) when the file is not well-formed, at the point
    where it stops being readable: records before it have already been yielded.
    """
    context = etree.iterparse(str(path), events=("end",), tag=tags, **SAFE_SETTINGS)
    for number, (_event, element) in enumerate(context, start=1):
        try:
            yield number, element
        finally:
            _free(element)
    del context


def iter_at_depth(path: str | Path, depth: int, tags: Iterable[str]) -> Iterator[tuple[int, etree._Element]]:
    """Yield (number per tag from 1, element) for the elements at `depth` (the root being 1) named in `tags`, and
    free every element at that depth, yielded or not.

    For files made of several sections of records read one section per pass (SIECLE's BEE exports): iter_elements
    frees only the elements it yields, so the sections a pass skips would stay in memory. Raises as iter_elements.
    """
    numbers = dict.fromkeys(tags, 0)
    level = 0
    for event, element in etree.iterparse(str(path), events=("start", "end"), **SAFE_SETTINGS):
        if event == "start":
            level += 1
            continue
        level -= 1
        if level != depth - 1:
            continue
        try:
            if element.tag in numbers:
                numbers[element.tag] += 1
                yield numbers[element.tag], element
        finally:
            _free(element)


def text_of(element: etree._Element) -> str:
    """The text of a leaf element, stripped; refuses entity references (never resolved)."""
    for child in element:
        if isinstance(child, etree._Entity):
            raise UnsafeXML(child.text)
    return (element.text or "").strip()
