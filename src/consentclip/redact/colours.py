"""One colour per kind of region, shared by every place that outlines detections: the preview's
``--show-detections`` overlay, the QA sheet and the review page (served to it as JSON), so a
reviewer learns one legend.

Colours are RGB hex; ``bgr()`` gives OpenCV's order. Kinds are plain strings so that a kind the
detectors do not produce yet (``text``) and the review page's own kinds (``keep``, ``off``) live
in the same table as ``RegionKind`` values.
"""

from __future__ import annotations

from consentclip.detect.regions import RegionKind

# Chosen to stay apart for the common colour-vision deficiencies as well as possible with six
# hues: red vs green is never the only difference (faces also get a double outline).
KIND_HEX: dict[str, str] = {
    RegionKind.FACE.value: "#e6282a",
    RegionKind.TATTOO.value: "#ff9600",
    "text": "#b03cd2",
    RegionKind.MANUAL.value: "#1e78e6",
    "keep": "#28aa3c",
    # A track the reviewer switched off: still outlined (dashed on the page), not redacted.
    "off": "#9aa5b1",
}
KIND_LABELS: dict[str, str] = {
    RegionKind.FACE.value: "face / head",
    RegionKind.TATTOO.value: "tattoo",
    "text": "text",
    RegionKind.MANUAL.value: "hidden by hand",
    "keep": "kept (lesion)",
    "off": "switched off",
}
_FALLBACK = "#ffffff"


def _key(kind: RegionKind | str) -> str:
    return kind.value if isinstance(kind, RegionKind) else str(kind)


def rgb(kind: RegionKind | str) -> tuple[int, int, int]:
    text = KIND_HEX.get(_key(kind), _FALLBACK).lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def bgr(kind: RegionKind | str) -> tuple[int, int, int]:
    r, g, b = rgb(kind)
    return b, g, r


def legend() -> list[dict[str, str]]:
    """The table as the review page receives it."""
    return [{"kind": k, "colour": v, "label": KIND_LABELS[k]} for k, v in KIND_HEX.items()]
