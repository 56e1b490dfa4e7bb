"""Verifying, after writing, that an output carries nothing identifying (mat2-style).

What an output may contain is DATA: an allowlist of fields with their neutral values, per format.
Verification is structural (ffprobe JSON of format, streams, chapters and programs; Pillow's view
of a photo) and then a byte search for encoder fingerprints and for every string the source's
own metadata held (``loci`` stores GPS in binary, so strings alone would not be enough, and
structure alone would not catch a copied string in an unexpected box).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from consentclip.errors import MediaError
from consentclip.media.probe import ffprobe_json
from consentclip.settings import VerificationReport

ANY = None  # marks a field whose value is not identifying whatever it is


@dataclass(frozen=True)
class Allowlist:
    """Fields an output may keep, each with its allowed values (or ANY)."""

    format_tags: Mapping[str, frozenset[str] | None]
    stream_tags: Mapping[str, frozenset[str] | None]
    codecs: Mapping[str, frozenset[str]]  # codec_type -> allowed codec names
    dispositions: frozenset[str]  # disposition flags allowed to be set


MP4_ALLOWLIST = Allowlist(
    format_tags={
        "major_brand": frozenset({"isom"}),
        "minor_version": frozenset({"512"}),
        "compatible_brands": frozenset({"isomiso2avc1mp41", "isomiso2mp41"}),
    },
    stream_tags={
        "language": frozenset({"und"}),
        "vendor_id": frozenset({"[0][0][0][0]"}),
        "handler_name": frozenset({""}),
        "encoder": frozenset({" "}),  # the neutral compressor name (see encode.py)
    },
    codecs={"video": frozenset({"h264"}), "audio": frozenset({"aac"})},
    dispositions=frozenset({"default"}),
)

# Byte strings no output may contain: encoder fingerprints (docs/domain.md §2).
FINGERPRINTS: tuple[bytes, ...] = (b"Lavf", b"Lavc", b"x264", b"libx264", b"HandBrake")
# Photo containers: the markers of the metadata blocks that must not survive re-encoding.
PHOTO_MARKERS: tuple[bytes, ...] = (
    b"Exif\x00\x00",
    b"http://ns.adobe.com/xap/",
    b"Photoshop 3.0",
    b"ICC_PROFILE",
    b"eXIf",
    b"iTXt",
    b"tEXt",
    b"zTXt",
    b"iCCP",
)
PHOTO_INFO_KEYS = {
    "PNG": frozenset(),
    "JPEG": frozenset({"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}),
}
_MIN_PLANTED = 6  # shorter source strings would match binary data by chance


def source_strings(src: Path) -> tuple[bytes, ...]:
    """Strings the source's metadata holds (tags of every kind, chapter titles) to hunt for."""
    try:
        data = ffprobe_json(src, ("format", "streams", "chapters", "programs"))
    except MediaError:  # a photo or unreadable tags simply contribute nothing
        return ()
    values: set[str] = set()
    for item in _tag_dicts(data):
        values.update(str(v) for v in item.values())
    neutral = {v for vals in MP4_ALLOWLIST.format_tags.values() if vals for v in vals}
    neutral |= {v for vals in MP4_ALLOWLIST.stream_tags.values() if vals for v in vals}
    return tuple(sorted(v.encode() for v in values if len(v) >= _MIN_PLANTED and v not in neutral))


def _tag_dicts(data: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield (data.get("format") or {}).get("tags") or {}
    for key in ("streams", "chapters", "programs"):
        for item in data.get(key) or ():
            yield item.get("tags") or {}


def find_bytes(path: Path, needles: Iterable[bytes], chunk: int = 1 << 20) -> list[bytes]:
    """Which needles occur in the file; streamed with overlap so memory stays flat."""
    wanted = [n for n in dict.fromkeys(needles) if n]
    if not wanted:
        return []
    overlap = max(len(n) for n in wanted) - 1
    found: set[bytes] = set()
    tail = b""
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            window = tail + block
            found.update(n for n in wanted if n not in found and n in window)
            tail = window[-overlap:] if overlap else b""
    return [n for n in wanted if n in found]


def _check_tags(where: str, tags: Mapping[str, Any], allowed: Mapping[str, Any]) -> list[str]:
    problems = []
    for key, value in tags.items():
        if key not in allowed:
            problems.append(f"{where}: tag {key}={value!r} is not on the allowlist")
        elif allowed[key] is not ANY and str(value) not in allowed[key]:
            problems.append(f"{where}: tag {key}={value!r} is not a neutral value")
    return problems


def verify_video(
    path: Path,
    *,
    expect_audio: bool,
    planted: Iterable[bytes] = (),
    allowlist: Allowlist = MP4_ALLOWLIST,
) -> VerificationReport:
    """Probe the written file and compare everything against the allowlist."""
    data = ffprobe_json(path)
    problems: list[str] = []
    problems += _check_tags(
        "format", (data.get("format") or {}).get("tags") or {}, allowlist.format_tags
    )
    streams = data.get("streams") or []
    kinds = [s.get("codec_type") for s in streams]
    want = ["video", "audio"] if expect_audio else ["video"]
    if sorted(kinds, key=str) != sorted(want):
        problems.append(f"streams: found {kinds}, expected exactly {want}")
    for s in streams:
        where = f"stream {s.get('index')} ({s.get('codec_type')})"
        codecs = allowlist.codecs.get(str(s.get("codec_type")))
        if codecs is None or s.get("codec_name") not in codecs:
            problems.append(f"{where}: codec {s.get('codec_name')!r} is not allowed")
        problems += _check_tags(where, s.get("tags") or {}, allowlist.stream_tags)
        flags = {k for k, v in (s.get("disposition") or {}).items() if v}
        if extra := flags - allowlist.dispositions:
            problems.append(f"{where}: disposition {sorted(extra)} is not allowed")
        for side in s.get("side_data_list") or ():
            if side.get("side_data_type") == "Display Matrix" and not side.get("rotation"):
                continue  # an identity matrix says nothing
            problems.append(f"{where}: side data {side.get('side_data_type')!r} is not allowed")
    if data.get("chapters"):
        problems.append(f"chapters: {len(data['chapters'])} found, none allowed")
    if data.get("programs"):
        problems.append(f"programs: {len(data['programs'])} found, none allowed")
    for hit in find_bytes(path, (*FINGERPRINTS, *planted)):
        problems.append(f"bytes: {hit.decode('utf-8', 'replace')!r} occurs in the file")
    checked = (
        "format tags",
        "streams",
        "stream tags",
        "dispositions",
        "side data",
        "chapters",
        "programs",
        "fingerprint bytes",
        "source strings",
    )
    return VerificationReport(ok=not problems, checked=checked, problems=tuple(problems))


def verify_photo(path: Path, *, planted: Iterable[bytes] = ()) -> VerificationReport:
    """Re-open the written photo: no EXIF, no ICC, no text chunks, only neutral info keys."""
    problems: list[str] = []
    with Image.open(path) as img:
        fmt = img.format or "?"
        allowed = PHOTO_INFO_KEYS.get(fmt)
        if allowed is None:
            problems.append(f"format {fmt} is not an allowed photo output")
            allowed = frozenset()
        if extra := set(img.info) - allowed:
            problems.append(f"info: {sorted(extra)} not on the allowlist")
        if len(img.getexif()):
            problems.append("EXIF data present")
        if getattr(img, "n_frames", 1) != 1:
            problems.append("more than one picture in the file")
    for hit in find_bytes(path, (*PHOTO_MARKERS, *planted)):
        problems.append(f"bytes: {hit!r} occurs in the file")
    checked = ("photo format", "info keys", "EXIF", "frames", "metadata markers", "source strings")
    return VerificationReport(ok=not problems, checked=checked, problems=tuple(problems))
