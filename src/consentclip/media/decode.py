"""Decoding a clip to upright BGR frames: an ffmpeg subprocess feeding a bounded queue.

The reader thread owns the pipe; the consumer iterates. ``close()`` sets a stop flag, drains the
queue (so a blocked ``put`` returns), kills and reaps ffmpeg and joins the thread, whatever
happened: the PySceneDetect pattern, so an exception in any stage never hangs the pipeline.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Collection, Iterator, Sequence
from typing import IO

import cv2
import numpy as np

from consentclip.errors import MediaError
from consentclip.media.ffmpeg import binary, reap, safe_path, spawn, stderr_text
from consentclip.media.probe import VideoInfo, last_line

_END = object()
_POLL_S = 0.1
# Above this many pixels per frame (4K and up) memory, not speed, is what needs guarding: queues
# shrink to a frame, and the encoder caps its look-ahead (encode.py).
LARGE_FRAME_PIXELS = 2_500_000


def queue_slots(frame_bytes: int, budget_bytes: int, lo: int = 1, hi: int = 16) -> int:
    """How many frames a queue may hold so that memory does not depend on the resolution."""
    return max(lo, min(hi, budget_bytes // max(frame_bytes, 1)))


def pipe_format(width: int, height: int) -> str:
    """What travels through the pipes. Planar 4:2:0 is half the bytes of BGR and lets OpenCV
    convert (vectorised, off the GIL, on the pipeline's own threads) instead of swscale; it
    needs even sizes, so odd ones travel as BGR."""
    return "yuv420p" if width % 2 == 0 and height % 2 == 0 else "bgr24"


def frame_bytes(width: int, height: int) -> int:
    if pipe_format(width, height) == "yuv420p":
        return width * height * 3 // 2
    return width * height * 3


def decoder_argv(info: VideoInfo) -> list[str]:
    # autorotate is ffmpeg's default: frames arrive upright. -fps_mode cfr resamples variable
    # frame rate input to a constant rate, so frame i is at i/fps and audio stays in sync.
    # One decoding thread: the engine consumes frames far slower than one thread decodes them
    # (1080p H.264: ~250 frames/s), threads would only add their own overhead (~15% more CPU,
    # measured) and, at 4K, memory.
    return [
        binary("ffmpeg"),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-threads",
        "1",
        "-i",
        safe_path(info.path),
        "-map",
        f"0:{info.stream_index}",
        "-an",
        "-sn",
        "-dn",
        "-fps_mode",
        "cfr",
        "-r",
        str(info.fps),
        "-f",
        "rawvideo",
        "-pix_fmt",
        pipe_format(info.width, info.height),
        "pipe:1",
    ]


class FrameReader:
    """Iterate ``(index, frame)`` over a clip; frames are writable HxWx3 uint8 BGR arrays."""

    def __init__(
        self,
        info: VideoInfo,
        *,
        queue_budget_bytes: int = 40 << 20,
        only: Collection[int] | None = None,
    ) -> None:
        self.info = info
        # Frames outside ``only`` are read off the pipe and dropped before colour conversion:
        # a QA sheet's nine frames of a long clip then cost little more than ffmpeg's decoding.
        self._only = frozenset(only) if only is not None else None
        self._decoded = 0  # frames read off the pipe (the reader thread's count)
        self.frame_bytes = frame_bytes(info.width, info.height)
        self._yuv = pipe_format(info.width, info.height) == "yuv420p"
        self._queue: queue.Queue[object] = queue.Queue(
            queue_slots(info.width * info.height * 3, queue_budget_bytes)
        )
        self._stop = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None  # set by the reader thread, raised by __iter__
        self.frames_read = 0

    def __enter__(self) -> FrameReader:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._proc, self._stderr = spawn(
            decoder_argv(self.info), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
        )
        self._thread = threading.Thread(target=self._run, name="consentclip-decode", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        """Read frames until the end. Whatever goes wrong (an OSError, a cv2.error, a bug) is
        stored for the consumer, and the end marker is ALWAYS posted: a reader thread that died
        silently would leave the consumer waiting for ever."""
        try:
            self._read_frames()
        except Exception as exc:
            self._error = (
                exc
                if isinstance(exc, MediaError)
                else MediaError(
                    f"decoding {self.info.path.name} failed: {type(exc).__name__}: {exc}"
                )
            )
        finally:
            self._put(_END)

    def _read_frames(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout
        h, w = self.info.height, self.info.width
        # 4:2:0 frames are converted at once, so one buffer serves them all; BGR ones are
        # handed on as they are and need a buffer each.
        reused = bytearray(self.frame_bytes) if self._yuv else None
        while not self._stop.is_set():
            buf = reused if reused is not None else bytearray(self.frame_bytes)
            view = memoryview(buf)
            got = 0
            while got < self.frame_bytes:
                n = out.readinto(view[got:])
                if not n:
                    break
                got += n
            if got < self.frame_bytes:
                # A partial last frame means ffmpeg stopped mid-frame: reported by rc below.
                break
            index = self._decoded
            self._decoded += 1
            if self._only is not None and index not in self._only:
                continue
            if self._yuv:
                planes = np.frombuffer(buf, dtype=np.uint8).reshape(h * 3 // 2, w)
                frame = cv2.cvtColor(planes, cv2.COLOR_YUV2BGR_I420)
            else:
                frame = np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3)
            if not self._put((index, frame)):
                return
        if not self._stop.is_set():
            self._finish()

    def _finish(self) -> None:
        assert self._proc is not None
        rc = self._proc.wait()
        if rc != 0:
            raise MediaError(f"cannot decode {self.info.path.name}: {self._stderr_tail() or rc}")

    def _stderr_tail(self) -> str:
        return last_line(stderr_text(self._stderr))

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            assert isinstance(item, tuple)
            index, frame = item
            self.frames_read += 1
            yield index, frame

    def close(self) -> None:
        self._stop.set()
        while True:  # drain so the reader's put() wakes up
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        reap(self._proc)
        if self._thread is not None:
            self._thread.join()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def frames_at(info: VideoInfo, indices: Sequence[int]) -> list[tuple[int, np.ndarray]]:
    """The frames at ``indices``, numbered as the engine numbers them (the same decoder), in
    order; decoding stops after the last one. Fewer when the clip ends first. For the QA sheet's
    samples and the review page's thumbnails."""
    wanted = sorted(set(indices))
    out: list[tuple[int, np.ndarray]] = []
    if not wanted:
        return out
    with FrameReader(info, only=wanted) as reader:
        for index, frame in reader:
            if index == wanted[len(out)]:
                out.append((index, frame))
                if len(out) == len(wanted):
                    break
    return out
