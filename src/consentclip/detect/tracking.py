"""Track regions across frames and fill the gaps a detector leaves, in both directions.

Detectors miss faces for a frame or two (motion blur, a turn of the head, a tile not scanned
this frame). Users of other anonymisers see those faces flash through. The tracker holds the
last ``lookahead`` frames' detections back before declaring a frame final, so that it can:

- interpolate a track between two detections (frames 10 and 14 -> 11..13 covered, "interp");
- cover the ``lookahead`` frames *before* a track's first detection, so a face is masked from the
  moment it entered, not from the moment the detector first trusted it ("track");
- keep covering for ``hold`` frames after the last detection, extrapolating the motion ("track").

A scene cut (``cut(index)``, told by the engine) ends every track: what was seen before it
predicts nothing after it. Without it a head in the new shot joined the track of another head
in the old one, and the "jump" between them, extrapolated over the hold, covered most of the
frame (measured on the real broadcast clip hamilton, bench/results/engine_ab.md).

Boxes are smoothed over a short centred window (possible because of the look-ahead), and they
never shrink abruptly: a box that suddenly gets smaller is more often a detector wobble than a
head getting smaller. Pure Python, deterministic, no frames and no mediapipe.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from consentclip.detect.regions import Box, Region

FrameRegions = tuple[int, list[Region]]


@dataclass(frozen=True)
class TrackerConfig:
    """Tuning of the tracker. The defaults lean towards privacy: cover more, for longer."""

    # Frames a track keeps being covered after its last detection. Unlike the look-ahead this
    # costs no memory, only a lingering mask when a face really left; a face the detector lost
    # for a second (small, turned, blurred) stays covered.
    hold: int = 30
    min_iou: float = 0.05  # association by overlap with the predicted box...
    max_centre_dist: float = 1.0  # ...or by centre distance, in units of the box's larger side
    smooth_radius: int = 2  # centred window (frames) for position smoothing
    shrink_per_frame: float = 0.04  # a box may lose at most 4% of its size per frame
    # Growth of a held or back-filled box per frame away from a detection: the head may have
    # moved in a way the velocity does not tell, so the uncertainty grows with the distance.
    grow_per_frame: float = 0.015
    # Between two detections that far apart per frame (centre shift per frame of the gap, in
    # box sides) the straight line is a guess (a jump, a whip pan): the box covers both ends.
    jump_per_frame: float = 0.2
    # A track seen once, weakly, may be a false positive (a pattern, a poster): it gets only a
    # short hold and back-fill until it is confirmed by a second detection soon after, or by a
    # strong one. (Sporadic weak hits on a test pattern, seconds apart, never confirm.)
    # Real faces are confirmed within a few frames because the detector re-examines every head
    # it has seen.
    confirm_window: int = 8  # two detections at most this many frames apart confirm a track
    confirm_score: float = 0.75
    unconfirmed_span: int = 2


@dataclass
class _Track:
    track_id: int
    kind_template: Region
    obs: dict[int, Region] = field(default_factory=dict)  # frame -> detected region
    last_emitted: Box | None = None
    confirmed: bool = False
    # The frames this track may cover: from the start of its shot up to the next cut (None:
    # the shot goes on). Neither hold nor back-fill reaches across a cut.
    start: int = 0
    end: int | None = None

    def add(self, index: int, region: Region, config: TrackerConfig) -> None:
        near = any(0 < index - f <= config.confirm_window for f in self.obs)
        self.obs[index] = region
        self.confirmed = self.confirmed or near or region.score >= config.confirm_score

    @property
    def last(self) -> int:
        return max(self.obs)

    def velocity(self, anchor: int, *, forward: bool) -> tuple[float, float]:
        """Pixels per frame of the box centre, from up to 4 detections ending (forward) or
        starting (backward) at ``anchor``. Capped at half the box side per frame: a larger value
        is a detector jump, not motion."""
        if forward:
            frames = sorted(f for f in self.obs if f <= anchor)[-4:]
        else:
            frames = sorted(f for f in self.obs if f >= anchor)[:4]
        if len(frames) < 2:
            return 0.0, 0.0
        a, b = self.obs[frames[0]].box, self.obs[frames[-1]].box
        dt = frames[-1] - frames[0]
        cap = 0.5 * max(a.w, a.h, b.w, b.h)
        vx = max(-cap, min(cap, (b.cx - a.cx) / dt))
        vy = max(-cap, min(cap, (b.cy - a.cy) / dt))
        return vx, vy


class Tracker:
    """Associates per-frame regions into tracks and emits final regions with gaps filled.

    ``push(index, regions)`` must be called for every frame in increasing order. It returns,
    in frame order, the frames whose regions are now final (those at least ``lookahead`` frames
    old); ``flush()`` returns the rest at the end of the clip.
    """

    def __init__(self, lookahead: int = 12, config: TrackerConfig | None = None) -> None:
        if lookahead < 0:
            raise ValueError("lookahead must be >= 0")
        self.lookahead = lookahead
        self.config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._pending: deque[int] = deque()  # pushed frame indices not yet emitted
        self._last_index: int | None = None
        self._next_id = 1
        self._shot_start = 0  # the frame of the last cut (see cut)

    # -- public API ---------------------------------------------------------------------------

    def push(self, index: int, regions: list[Region]) -> list[FrameRegions]:
        if self._last_index is not None and index <= self._last_index:
            raise ValueError(
                f"frames must be pushed in increasing order ({index} after {self._last_index})"
            )
        self._last_index = index
        self._associate(index, regions)
        self._pending.append(index)
        out: list[FrameRegions] = []
        while self._pending and self._pending[0] <= index - self.lookahead:
            out.append(self._emit(self._pending.popleft()))
        self._prune()
        return out

    def cut(self, index: int) -> None:
        """Frame ``index``, not yet pushed, starts a new shot: every track ends before it (no
        hold into the new shot, no association with what is found there), and tracks started
        from it are not back-filled into the old one. A face still in view after the cut is
        found again there: the face detector treats the same cut as a new scene and runs its
        strongest passes on that frame."""
        if self._last_index is not None and index <= self._last_index:
            raise ValueError(f"a cut must come before its frame is pushed ({index})")
        self._shot_start = index
        for track in self._tracks:
            if track.end is None:
                track.end = index

    def flush(self) -> list[FrameRegions]:
        out = [self._emit(f) for f in self._pending]
        self._pending.clear()
        return out

    @property
    def track_count(self) -> int:
        """Tracks started so far (ids are 1..track_count)."""
        return self._next_id - 1

    # -- association --------------------------------------------------------------------------

    def _predict(self, track: _Track, index: int) -> Box:
        last = track.obs[track.last].box
        vx, vy = track.velocity(track.last, forward=True)
        dt = index - track.last
        return last.shifted(vx * dt, vy * dt)

    def _live(self, index: int) -> list[_Track]:
        # A track can still be joined as long as a new detection could be linked to it by
        # interpolation or the hold: beyond that it is a new appearance.
        horizon = max(self.lookahead, self.config.hold) + 1
        return [t for t in self._tracks if t.end is None and index - t.last <= horizon]

    def _associate(self, index: int, regions: list[Region]) -> None:
        cfg = self.config
        live = self._live(index)
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(live):
            pred = self._predict(track, index)
            for ri, region in enumerate(regions):
                if region.kind != track.kind_template.kind:
                    continue
                iou = pred.iou(region.box)
                side = max(pred.w, pred.h, region.box.w, region.box.h, 1.0)
                dist = ((pred.cx - region.box.cx) ** 2 + (pred.cy - region.box.cy) ** 2) ** 0.5
                dist /= side
                if iou >= cfg.min_iou or dist <= cfg.max_centre_dist:
                    # Lower cost is better: overlap first, distance breaks ties.
                    pairs.append((-iou + 0.5 * dist, ti, ri))
        pairs.sort()
        used_t: set[int] = set()
        used_r: set[int] = set()
        for _, ti, ri in pairs:
            if ti in used_t or ri in used_r:
                continue
            used_t.add(ti)
            used_r.add(ri)
            live[ti].add(index, regions[ri], cfg)
        for ri, region in enumerate(regions):
            if ri not in used_r:
                track = _Track(self._next_id, region, start=self._shot_start)
                track.add(index, region, cfg)
                self._next_id += 1
                self._tracks.append(track)

    # -- emission -----------------------------------------------------------------------------

    def _emit(self, frame: int) -> FrameRegions:
        regions: list[Region] = []
        for track in self._tracks:
            placed = self._box_at(track, frame)
            if placed is None:
                continue
            box, source, score = placed
            box = self._no_abrupt_shrink(track, box)
            track.last_emitted = box
            template = track.obs.get(frame, track.kind_template)
            regions.append(
                Region(
                    box=box, kind=template.kind, score=score, track_id=track.track_id, source=source
                )
            )
        regions.sort(key=lambda r: r.track_id or 0)
        return frame, regions

    def _box_at(self, track: _Track, frame: int) -> tuple[Box, str, float] | None:
        if frame < track.start or (track.end is not None and frame >= track.end):
            return None  # another shot
        obs = track.obs
        if frame in obs:
            return self._smoothed(track, frame), obs[frame].source, obs[frame].score
        a = max((f for f in obs if f < frame), default=None)
        b = min((f for f in obs if f > frame), default=None)
        if a is not None and b is not None and b - a <= self.lookahead + 1:
            # A short gap (always fully inside the look-ahead): a straight line between the two
            # detections, as big as the bigger of the two ends.
            t = (frame - a) / (b - a)
            box = obs[a].box.lerp(obs[b].box, t)
            # Grown with the distance to the nearer detection: heads do not move in straight lines.
            grow = 1.0 + self.config.grow_per_frame * min(frame - a, b - frame)
            w = max(obs[a].box.w, obs[b].box.w) * grow
            h = max(obs[a].box.h, obs[b].box.h) * grow
            box = Box(box.cx - w / 2, box.cy - h / 2, w, h)
            if self._jumped(obs[a].box, obs[b].box, b - a):
                # Where the head was during the gap is unknown: cover it wherever it may be.
                box = _union(
                    _union(box, self._extrapolate(track, a, frame - a)),
                    self._extrapolate(track, b, frame - b),
                )
            return box, "interp", min(obs[a].score, obs[b].score)
        held: list[tuple[Box, float]] = []
        cfg = self.config
        confirmed = track.confirmed
        hold = cfg.hold if confirmed else min(cfg.hold, cfg.unconfirmed_span)
        back = self.lookahead if confirmed else min(self.lookahead, cfg.unconfirmed_span)
        if a is not None and frame - a <= hold:
            held.append((self._extrapolate(track, a, frame - a), obs[a].score))
        if b is not None and b - frame <= back:
            held.append((self._extrapolate(track, b, frame - b), obs[b].score))
        if not held:
            return None
        box = held[0][0] if len(held) == 1 else _union(held[0][0], held[1][0])
        return box, "track", min(s for _, s in held)

    def _jumped(self, a: Box, b: Box, frames: int) -> bool:
        shift = ((b.cx - a.cx) ** 2 + (b.cy - a.cy) ** 2) ** 0.5
        side = max(a.w, a.h, b.w, b.h, 1.0)
        return shift / (side * frames) > self.config.jump_per_frame

    def _extrapolate(self, track: _Track, anchor: int, dt: int) -> Box:
        """The anchor box moved by the track's velocity, unioned with the held box and grown
        with the distance: covers both "it kept moving" and "it stopped"."""
        base = track.obs[anchor].box
        vx, vy = track.velocity(anchor, forward=dt > 0)
        moved = base.shifted(vx * dt, vy * dt)
        grow = 1.0 + self.config.grow_per_frame * abs(dt)
        return _union(base, moved).scaled(grow)

    def _smoothed(self, track: _Track, frame: int) -> Box:
        """Centre averaged over a small centred window, size the largest in it; the result is
        grown if needed so that it still contains the raw detection."""
        r = self.config.smooth_radius
        window = [track.obs[f].box for f in range(frame - r, frame + r + 1) if f in track.obs]
        raw = track.obs[frame].box
        cx = sum(b.cx for b in window) / len(window)
        cy = sum(b.cy for b in window) / len(window)
        w = max(b.w for b in window)
        h = max(b.h for b in window)
        smooth = Box(cx - w / 2, cy - h / 2, w, h)
        return _union(smooth, raw) if raw.intersection_area(smooth) < raw.area else smooth

    def _no_abrupt_shrink(self, track: _Track, box: Box) -> Box:
        prev = track.last_emitted
        if prev is None:
            return box
        keep = 1.0 - self.config.shrink_per_frame
        w, h = max(box.w, prev.w * keep), max(box.h, prev.h * keep)
        if w == box.w and h == box.h:
            return box
        return Box(box.cx - w / 2, box.cy - h / 2, w, h)

    def _prune(self) -> None:
        """Forget detections no future frame can need, and tracks that have ended."""
        oldest = (self._last_index or 0) + 1 if not self._pending else self._pending[0]
        horizon = oldest - max(self.lookahead, self.config.hold) - self.config.smooth_radius - 4
        kept: list[_Track] = []
        for track in self._tracks:
            if track.last < horizon:
                continue  # ended long before any frame still to be emitted
            # Keep the last few old detections: the velocity needs them.
            old = sorted(f for f in track.obs if f < horizon)
            for f in old[:-4]:
                del track.obs[f]
            kept.append(track)
        self._tracks = kept


def _union(a: Box, b: Box) -> Box:
    return Box.from_corners(min(a.x, b.x), min(a.y, b.y), max(a.x2, b.x2), max(a.y2, b.y2))
