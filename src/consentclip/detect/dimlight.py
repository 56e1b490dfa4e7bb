"""Tattoo marks in a dim picture of people: ink only on a person's lit, visible skin.

The tattoo detector measures ink as darkening relative to the skin around it. In a dim scene of
people (a stage, an audience, a dinner by candlelight) the skin model learns its colour from the
dimly lit faces (L* 13-21 on the real broadcast clip hamilton), so the dark room, suits and the
audience's clothes are all "skin", and every shadow in them is 20-40% darker than that "skin":
ink by the relative measure. Measured on hamilton's first 6 s (155 frames, faces + tattoos):
860 tattoo regions, some covering the whole frame, 58% of the picture redacted as tattoos on
average, with no tattoo in view (bench/results/engine_ab.md).

A tattoo that identifies someone lies on skin that is visible, so in such a picture a mark is
kept only when all three hold (each fails on a different part of the dark room):

- it does not span the picture (``DIM_MAX_SHARE``): a dark room enclosed by "skin" becomes one
  mark the size of the frame;
- the skin around it is lit (``DIM_SKIN_MIN_L``): below that lightness a 20% darkening is a
  fold, a shadow or compression noise, and no ink could be read on it either;
- its box is mostly skin-coloured (``DIM_MIN_SKIN``): ink on a forearm, a hand or a neck has
  bare skin between and around its strokes; a suit, a shirt collar or a dark sleeve does not.

Where the skin model's own colour (learned from the faces) is darker than that, no mark could
pass, and the detector stops before looking for ink (``unlit_people``): the same answer, cheaper.

Only in a picture that is dim as a whole (``DIM_FRAME_L``) and shows a sure face (a scene of
people, see ``regions.SURE_FACE``): the real tattoo photographs are all lighter (mean L* 31.8 and
up, 210 images), so the rule never reaches a well-lit limb or a close-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from consentclip.detect.tattoos import Candidate

# Mean L* of the work image under which a picture of people is dim (hamilton: 5.8-13.6; the
# darkest real tattoo photo 31.8, the darkest real photo of people 25.3).
DIM_FRAME_L = 20.0
# A mark whose box covers more than this share of the work image is the room, not a design.
# (On hamilton the frame-wide marks fail the two tests below as well; this one is the plain
# statement that a picture of people is not one tattoo.)
DIM_MAX_SHARE = 0.25
# Mean local skin L* (tattoos.local_skin) over the mark's box under which it is not lit skin.
DIM_SKIN_MIN_L = 25.0
# Share of skin-coloured pixels (before closing) a mark's box needs to lie on visible skin.
# Measured: hamilton's marks in dim frames with a face, 173 in 155 frames: 66 left by the
# lightness test, 14 by this one at 0.4 (7 at 0.5, 22 at 0.3). The marks that cover real tattoo
# boxes on the 210 well-lit real tattoo photos (detector alone) have a skin share of 0.39 at
# their 25th percentile and 0.26 at the 10th: a dense design in dim light can fall under it.
DIM_MIN_SKIN = 0.4


def is_dim(frame_l: np.ndarray) -> bool:
    """Is this work image's lightness (L*, 0-100) that of a dim picture?"""
    return float(frame_l.mean()) < DIM_FRAME_L


def unlit_people(frame_l: np.ndarray, tone_l: float) -> bool:
    """A dim picture of people whose skin itself is not lit (the skin model's lightness, learned
    from the sure faces, under ``DIM_SKIN_MIN_L``): no mark there could lie on lit skin, so the
    detector stops before looking for ink. On hamilton's first 6 s: the audience shots and the
    dark stage, 26 of the 78 frames the detector runs on, 0.35 of its 1.3 CPU s. Call only with
    a sure face in view."""
    return tone_l < DIM_SKIN_MIN_L and is_dim(frame_l)


def dim_people_marks(
    cands: Sequence[Candidate], skin: np.ndarray, local_l: np.ndarray
) -> list[Candidate]:
    """``cands`` with every kept mark that is not on a person's lit, visible skin rejected as
    ``dim`` (see the module docstring). ``skin``: skin-coloured pixels (bool, work size);
    ``local_l``: the local skin lightness. Call only for a dim picture with a sure face."""
    h, w = skin.shape
    out = []
    for c in cands:
        if not c.reason:
            x, y, bw, bh = c.box
            sl = (slice(y, y + bh), slice(x, x + bw))
            if (
                bw * bh > DIM_MAX_SHARE * w * h
                or float(local_l[sl].mean()) < DIM_SKIN_MIN_L
                or float(skin[sl].mean()) < DIM_MIN_SKIN
            ):
                c = replace(c, reason="dim")
        out.append(c)
    return out
