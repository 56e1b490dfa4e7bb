"""A large design's full extent: the faint parts of it that were judged on their own.

    design_extent(kept, rejected, work_area) -> the kept marks, grown over their faint parts

A large design (a portrait on a calf, a clown on a forearm) is rarely one ink group: its
strong outlines and dark fill make one kept mark, and its soft grey shading, fine hatching and
faded edges fall apart into groups of their own that are each barely above the ink threshold,
sparse or thin. Judged alone such a group is rightly rejected (``faint``, ``sparse``,
``vein``, ``line``: a hair, skin texture, the edge of a shadow), and the design's box then
ends where its strong ink ends. On the real tattoo photos (BIVTatt) that was the cause of
box misses like 18_2, a grey clown whose lower half is shading only (73% of its human box
redacted).

Beside a large kept mark, such a group is the design's own shading: a lone hair or a vein
has no design over it. So on a view of a limb (no person in view, no skin close-up: see the
caller), a group rejected for being faint, sparse, thin or vein-like whose box overlaps the
padded box of a kept mark covering at least ``EXTENT_MIN_SHARE`` of the work image, clearly
ink and not one solid patch (a rash's plaque), is taken into that mark, and the grown mark is
looked at again, at most ``EXTENT_STEPS`` times. Only box geometry is used: nothing is
recomputed on the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol, TypeVar

# A kept mark at least this share of the work image is a large design (the detector pads such
# marks more as well: tattoos.LARGE_MARK_SHARE).
EXTENT_MIN_SHARE = 0.07
# Its box is grown by this fraction of each side before looking for its faint parts (the
# padding its box gets anyway: tattoos.LARGE_MARK_PAD).
EXTENT_REACH = 0.22
# The mark itself must look like a design: at least this mean ink score (thresholds) ...
EXTENT_MIN_CONTRAST = 1.0
# ... and strokes with skin between them, not one solid patch (ink area / convex hull area at
# most this). Measured on the real rash close-ups (MSLD) that pass for a scene: the two marks
# this rule grew there were a solid plaque (solidity 0.90) and a barely-kept mark of mean score
# 0.97; the designs it completes on the real tattoo photos score 1.06-1.68, solidity 0.26-0.61.
EXTENT_MAX_SOLIDITY = 0.8
# At most this many steps out from the mark (see design_extent). Measured on the real tattoo
# photos: one step left two boxes of 146_1 at 87% and 92% (its shading reaches the frame edge
# in three groups); three steps covered them, no box lost.
EXTENT_STEPS = 3
# Rejections that say "too weak or too thin to be ink alone", not "something else": a mole,
# a lesion, the background, shade or pigment in a close-up are never taken in.
EXTENT_REASONS = frozenset({"faint", "sparse", "vein", "line"})

Box4 = tuple[int, int, int, int]  # x, y, w, h in work pixels


class _Mark(Protocol):
    box: Box4
    ink_px: int
    seed_px: int
    contrast: float
    solidity: float
    reason: str


def _overlaps(a: Box4, b: Box4) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _reach(box: Box4, frac: float) -> Box4:
    x, y, w, h = box
    px, py = round(frac * w), round(frac * h)
    return (x - px, y - py, w + 2 * px, h + 2 * py)


M = TypeVar("M", bound=_Mark)


def joined(a: M, b: M) -> M:
    """``a`` and ``b`` as one mark: the union of their boxes, their ink and seed pixels added,
    their contrast weighted by ink (also how tattoos.merge_near joins nearby marks)."""
    x1, y1 = min(a.box[0], b.box[0]), min(a.box[1], b.box[1])
    x2 = max(a.box[0] + a.box[2], b.box[0] + b.box[2])
    y2 = max(a.box[1] + a.box[3], b.box[1] + b.box[3])
    n = a.ink_px + b.ink_px
    return replace(
        a,
        box=(x1, y1, x2 - x1, y2 - y1),
        ink_px=n,
        seed_px=a.seed_px + b.seed_px,
        contrast=(a.contrast * a.ink_px + b.contrast * b.ink_px) / n,
    )


def design_extent(kept: Sequence[M], rejected: Sequence[M], work_area: float) -> list[M]:
    """``kept`` with each large mark grown over the faint parts of its design (see the module
    docstring). Small kept marks and every other rejection are left as they are."""
    pool = [c for c in rejected if c.reason in EXTENT_REASONS]
    out: list[M] = []
    for mark in kept:
        if (
            mark.box[2] * mark.box[3] < EXTENT_MIN_SHARE * work_area
            or mark.contrast < EXTENT_MIN_CONTRAST
            or mark.solidity > EXTENT_MAX_SOLIDITY
        ):
            out.append(mark)
            continue
        # Grown step by step: shading reaches the mark through other shading (each step from
        # the box grown so far), but at most EXTENT_STEPS steps out, so hair or skin texture
        # running on from a design cannot carry its box across the picture.
        for _ in range(EXTENT_STEPS):
            reach = _reach(mark.box, EXTENT_REACH)
            for c in [c for c in pool if _overlaps(reach, c.box)]:
                pool.remove(c)
                mark = joined(mark, c)
        out.append(mark)
    return out
