"""From what a model sees to the whole head to redact.

BlazeFace boxes the inner face, brows to chin. Hair and ears identify a person too, so the box is
enlarged and shifted up. Pose landmarks (nose, eyes, ears, mouth) still place a head when it is
in profile or turned away, where BlazeFace fails; the head size then comes from whichever
landmark distances survive the turn. Factors measured on the astronaut portrait (hair 1.54x the
face box wide but off-centre, 0.9x on one side; top of hair 0.5x the box height above it) and
the cameraman (looking down: the crown is higher still), then tuned on bench/leak.py until no
composed head was left less than 95% covered; a privacy margin, not a tight fit.
"""

from __future__ import annotations

import numpy as np

from consentclip.detect.regions import Box

# Face box -> head box.
HEAD_WIDTH = 2.1
HEAD_HEIGHT = 2.3
HEAD_SHIFT_UP = 0.4  # of the face box height: the head's centre is above the face's

# Keypoint extent -> head, for turned faces (measured on the cameraman's near-profile: the skull
# reaches about 0.9 keypoint spans behind the visible ear, 0.25 in front of the nose).
_BACK_MIN = 0.25
_BACK_EXTRA = 0.8
_FRONT = 0.3
_YAW_PROFILE = 0.25

# Pose landmark distances -> head side, measured on frontal portraits (ear to ear ~0.48 of the
# head's width, eyes to mouth ~0.26 of its height, nose to an ear ~0.55 in profile).
_EARS_TO_HEAD = 2.2
_EYES_MOUTH_TO_HEAD = 4.0
_NOSE_EAR_TO_HEAD = 1.9
_MIN_VISIBILITY = 0.3


def head_from_face(face: Box, margin: float = 1.0, keypoints: np.ndarray | None = None) -> Box:
    """The whole-head box for a BlazeFace face box, times an extra ``margin``.

    With the 6 BlazeFace keypoints, a face turned sideways also gets the back of its head: the
    box is centred on the face, but in profile the skull extends well behind the visible ear,
    on the side away from the nose.
    """
    w, h = face.w * HEAD_WIDTH * margin, face.h * HEAD_HEIGHT * margin
    cx, cy = face.cx, face.cy - HEAD_SHIFT_UP * face.h
    head = Box(cx - w / 2, cy - h / 2, w, h)
    if keypoints is None or keypoints.shape != (6, 2):
        return head
    xs = keypoints[:, 0]
    span = float(xs.max() - xs.min())
    if span <= 1.0:
        return head
    nose_x = float(keypoints[2, 0])
    ears_x = float(keypoints[4, 0] + keypoints[5, 0]) / 2
    yaw = (nose_x - ears_x) / span  # ~0 frontal, ~±0.6 in profile; sign = facing direction
    back = (_BACK_MIN + _BACK_EXTRA * min(abs(yaw) / _YAW_PROFILE, 1.0)) * span * margin
    front = _FRONT * span * margin
    if yaw >= 0:  # facing right (in the image): the back of the head is on the left
        x1, x2 = float(xs.min()) - back, float(xs.max()) + front
    else:
        x1, x2 = float(xs.min()) - front, float(xs.max()) + back
    return Box.from_corners(min(head.x, x1), head.y, max(head.x2, x2), head.y2)


def head_from_pose(landmarks: np.ndarray) -> tuple[Box, float] | None:
    """The whole-head box and a confidence from the 11 pose head landmarks (x, y, visibility).

    None when the landmarks are too unsure to place a head (pose always answers with some
    landmarks once it has found a body, visible or not).
    """
    if landmarks.shape[0] < 11:
        return None
    vis = landmarks[:, 2]
    confidence = float(vis.max())
    if confidence < _MIN_VISIBILITY:
        return None
    pts = landmarks[:, :2]
    nose, ear_l, ear_r = pts[0], pts[7], pts[8]
    eyes = (pts[2] + pts[5]) / 2
    mouth = (pts[9] + pts[10]) / 2
    side = max(
        _EARS_TO_HEAD * float(np.linalg.norm(ear_l - ear_r)),
        _EYES_MOUTH_TO_HEAD * float(np.linalg.norm(eyes - mouth)),
        _NOSE_EAR_TO_HEAD
        * max(float(np.linalg.norm(nose - ear_l)), float(np.linalg.norm(nose - ear_r))),
    )
    if side <= 1.0:
        return None
    # Centre between the landmarks' extremes, raised a little: the landmarks sit in the lower
    # two thirds of the head (the crown has none).
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 - 0.12 * side
    w, h = side * 1.05, side * 1.15
    return Box(cx - w / 2, cy - h / 2, w, h), confidence


# CenterFace box (WIDER style: hairline or brows to chin, narrower than BlazeFace's) -> head,
# measured on the astronaut portrait against the BlazeFace-derived head above: 2.5x as wide,
# 2.0x as tall, centre raised by a third of the box height; rounded up for hair and profiles.
CF_HEAD_WIDTH = 2.5
CF_HEAD_HEIGHT = 2.1
CF_SHIFT_UP = 0.33


def head_from_centerface(face: Box, margin: float = 1.0) -> Box:
    """The whole-head box for a CenterFace face box, times an extra ``margin``. CenterFace also
    boxes profiles, which it centres on the visible face: the width covers the back of the head
    on either side."""
    w = max(face.w * CF_HEAD_WIDTH, face.h * 1.6) * margin
    h = face.h * CF_HEAD_HEIGHT * margin
    cx, cy = face.cx, face.cy - CF_SHIFT_UP * face.h
    return Box(cx - w / 2, cy - h / 2, w, h)
