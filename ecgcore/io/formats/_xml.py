"""Safe XML parsing for the XML formats: no external entities, no entity expansion."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as DET

from ecgcore.io.formats.raw import parse_number
from ecgcore.io.record import RecordError


def parse_xml(path: Path, data: bytes) -> ET.Element:
    """The root element of ``data``; RecordError naming ``path`` for unsafe or broken XML.

    A DOCTYPE line is allowed (MUSE exports name ``restecg.dtd``) but is never fetched;
    entity declarations of any kind are refused.
    """
    try:
        root = DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise RecordError(path, f"unsafe XML refused ({type(exc).__name__})") from exc
    except ET.ParseError as exc:
        raise RecordError(path, f"broken XML: {exc}") from exc
    for element in root.iter():  # strip namespaces: readers match local names
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def text(element: ET.Element | None, path: str) -> str | None:
    """Stripped text of the first ``path`` under ``element``; None when absent or empty."""
    if element is None:
        return None
    found = element.find(path)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value or None


def numbers(block: ET.Element, tags: dict[str, str]) -> dict[str, float]:
    """``{name: value}`` for each child ``tag`` of ``block`` (``tags``: tag → name) whose
    text is a number; what the device could not measure ("Invalid", "Failed", empty) is
    left out."""
    values = {}
    for tag, name in tags.items():
        value = parse_number(text(block, tag))
        if value is not None:
            values[name] = value
    return values


def local(tag: str) -> str:
    return tag.split("}", 1)[1] if "}" in tag else tag
