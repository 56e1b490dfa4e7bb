"""The adaptive skin model on drawn skin of all six Fitzpatrick tones and on non-skin colours."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmods import bench_module
from consentclip.detect.regions import Box
from consentclip.detect.skin import (
    LabImage,
    SkinModel,
    body_surface,
    estimate_tone,
    fill_holes,
    local_skin,
    prior_mask,
    skin_colour_mask,
)

skinsynth = bench_module("skinsynth")


def lab_of(bgr: tuple[int, int, int]) -> tuple[float, float, float]:
    lab = LabImage.from_bgr(np.full((1, 1, 3), bgr, np.uint8))
    return float(lab.L[0, 0]), float(lab.a[0, 0]), float(lab.b[0, 0])


@pytest.mark.parametrize("tone", range(1, 7))
def test_prior_accepts_every_fitzpatrick_tone_lit_and_shaded(tone: int) -> None:
    bgr = np.asarray(skinsynth.FITZPATRICK_BGR[tone], np.float32)
    patch = np.stack([bgr * f for f in (0.7, 0.85, 1.0, 1.05)])[None].clip(0, 255)
    assert prior_mask(LabImage.from_bgr(patch.astype(np.uint8))).all()


@pytest.mark.parametrize(
    "bgr",
    [
        (120, 78, 40),  # blue drape
        (60, 160, 60),  # green
        (128, 128, 128),  # grey
        (250, 250, 250),  # white
        (5, 5, 5),  # black
        (225, 235, 240),  # warm white shirt: slightly tinted, but far too grey for skin
        (40, 40, 200),  # saturated red
    ],
)
def test_prior_rejects_non_skin_colours(bgr: tuple[int, int, int]) -> None:
    assert not prior_mask(LabImage.from_bgr(np.full((2, 2, 3), bgr, np.uint8))).any()


@pytest.mark.parametrize("tone", range(1, 7))
def test_estimated_tone_matches_the_limb(tone: int) -> None:
    frame = skinsynth.plain_limb(tone, 480, 270)
    lab = LabImage.from_bgr(frame)
    est = estimate_tone(lab, prior_mask(lab))
    assert est is not None
    L, a, b = lab_of(skinsynth.FITZPATRICK_BGR[tone])
    # The limb is shaded (0.72..1.05 of the base colour), so L may sit below the base value.
    assert abs(est.a - a) <= 4 and abs(est.b - b) <= 5
    assert 0.7 * L <= est.L <= 1.1 * L
    skin = skin_colour_mask(lab, est)
    limb_rows = slice(int(0.35 * 270), int(0.7 * 270))
    assert skin[limb_rows].mean() > 0.9  # the limb is skin...
    assert skin[:20].mean() < 0.02  # ...the drape is not


def test_face_pulls_the_estimate_to_the_persons_skin() -> None:
    # A large beige (skin-like) wall and a smaller patch of darker skin where the face is.
    img = np.zeros((200, 300, 3), np.uint8)
    img[:] = (150, 185, 215)  # beige wall, inside the skin prior
    img[60:140, 120:200] = skinsynth.FITZPATRICK_BGR[5]
    lab = LabImage.from_bgr(img)
    prior = prior_mask(lab)
    wall = estimate_tone(lab, prior)
    face = estimate_tone(lab, prior, [Box(110, 40, 100, 110)])
    assert wall is not None and face is not None
    _, a5, b5 = lab_of(skinsynth.FITZPATRICK_BGR[5])
    assert abs(face.a - a5) <= 3 and abs(face.b - b5) <= 3
    assert abs(wall.a - a5) > 3 or abs(wall.b - b5) > 3


def test_no_tone_on_images_without_skin() -> None:
    ramp = np.linspace(0, 255, 160, dtype=np.float32)[None, :, None]
    for img in (
        np.full((90, 160, 3), (120, 78, 40), np.uint8),  # a blue drape
        np.broadcast_to(ramp, (90, 160, 3)).astype(np.uint8),  # a grey ramp, black to white
        np.full((90, 160, 3), (60, 160, 60), np.uint8),  # green
    ):
        lab = LabImage.from_bgr(img)
        assert estimate_tone(lab, prior_mask(lab)) is None


def test_fill_holes_fills_enclosed_only() -> None:
    m = np.zeros((50, 50), np.uint8)
    cv2.rectangle(m, (10, 10), (40, 40), 255, -1)
    m[20:30, 20:30] = 0  # enclosed hole (a tattoo inside skin)
    m[0:50, 45:50] = 255
    m[10:20, 0:10] = 0  # background touching the border stays background
    out = fill_holes(m)
    assert (out[20:30, 20:30] == 255).all()
    assert (out[12:18, 0:8] == 0).all()


def test_body_surface_does_not_swallow_a_background_strip_at_the_frame_edge() -> None:
    skin = np.zeros((100, 200), bool)
    skin[0:95, :] = True  # a limb crossing the frame; a 5-pixel strip of background below
    surface = body_surface(skin, close_px=12)
    assert (surface[96:] == 0).all()
    assert (surface[10:90] == 255).all()


def test_body_surface_drops_webs_that_are_mostly_not_skin() -> None:
    skin = np.zeros((200, 200), bool)
    skin[::12, :] = True  # thin skin-coloured lines (highlights on clothing)
    skin[:, ::12] = True
    surface = body_surface(skin, close_px=13)
    assert surface.sum() == 0


def test_local_skin_follows_shading() -> None:
    frame = skinsynth.plain_limb(3, 480, 270)
    lab = LabImage.from_bgr(frame)
    tone = estimate_tone(lab, prior_mask(lab))
    assert tone is not None
    skin = skin_colour_mask(lab, tone)
    L, _, _ = local_skin(lab, skin, tone, radius=20)
    rows = slice(int(0.3 * 270), int(0.72 * 270))
    # The cylinder shading changes L across the limb by ~20%; the local estimate tracks it
    # within a few units where a global tone would be off by far more.
    err_local = np.abs(L[rows] - lab.L[rows])[skin[rows]]
    err_global = np.abs(tone.L - lab.L[rows])[skin[rows]]
    assert np.percentile(err_local, 95) < 4.0
    assert np.percentile(err_global, 95) > np.percentile(err_local, 95) * 1.5


def test_skin_model_blends_and_resets() -> None:
    model = SkinModel(smoothing=0.5, reset_at=10)
    a = skinsynth.plain_limb(2, 320, 180)
    b = skinsynth.plain_limb(6, 320, 180)
    for img in (a, a):
        lab = LabImage.from_bgr(img)
        first = model.update(lab, prior_mask(lab))
    assert first is not None
    lab = LabImage.from_bgr(b)
    second = model.update(lab, prior_mask(lab))
    assert second is not None
    L6, _, _ = lab_of(skinsynth.FITZPATRICK_BGR[6])
    assert abs(second.L - L6) < 8  # a cut to another person resets, no half-way blend
    empty = LabImage.from_bgr(np.full((180, 320, 3), (120, 78, 40), np.uint8))
    assert model.update(empty, prior_mask(empty)) is None
