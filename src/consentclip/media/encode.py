"""Encoding upright BGR frames to H.264 MP4 with every identifying channel closed by design.

ffmpeg-python builds the argv (docs/domain.md §2 lists each channel and the flag that closes it);
a writer thread feeds ffmpeg's stdin from a bounded queue so detection and encoding overlap.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import cv2
import ffmpeg
import numpy as np

from consentclip.errors import DiskFullError, MediaError
from consentclip.media.decode import LARGE_FRAME_PIXELS, pipe_format, queue_slots
from consentclip.media.ffmpeg import binary, reap, safe_path, spawn, stderr_text
from consentclip.media.probe import last_line

PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)
_END = object()
# Lines ffmpeg prints, still exiting 0, when the output file could not be completed.
_WRITE_FAILURES = ("Error writing trailer", "Error closing file")
_POLL_S = 0.1

# Output options that close the channels of docs/domain.md §2. Data, not code: each line says why.
CLEAN_OUTPUT_OPTIONS: dict[str, Any] = {
    "map_metadata": -1,  # container and stream tags (title, GPS, make/model, creation_time, ...)
    "map_chapters": -1,  # chapters are copied from any input otherwise, the audio source too
    "write_tmcd": 0,  # no timecode (time of day) track
    "fflags": "+bitexact",  # no 'Lavf' tag, zeroed mvhd/tkhd/mdhd dates
    "flags:v": "+bitexact",
    "empty_hdlr_name": 1,  # no 'VideoHandler'/'Core Media Video' handler names
    # An empty value would let ffmpeg write "Lavc libx264" as the compressor name; one space is
    # the neutral value it keeps instead.
    "metadata:s:v:0": "encoder= ",
    "a53cc": 0,  # closed captions are never passed through
    "bsf:v": "filter_units=remove_types=6",  # drop SEI NAL units: x264's options banner
    "movflags": "+faststart",
    "f": "mp4",
}


# Above LARGE_FRAME_PIXELS (4K and up), x264's own frame pool would dominate memory (1.6 GB at
# 4K with preset medium, measured): a short look-ahead and sliced (not frame) threads keep it
# near 0.4 GB, so the whole engine stays under 1.5 GB (bench/engine_memory.py). Below it the
# preset's own settings are used untouched.
LARGE_FRAME_X264 = "rc-lookahead=5:threads=2:sliced-threads=1"
_NO_LOOKAHEAD_PRESETS = frozenset({"ultrafast", "superfast"})


@dataclass(frozen=True)
class EncodeSpec:
    width: int  # of the frames written (may be odd; padded to even for yuv420p)
    height: int
    fps: Fraction
    crf: int = 20
    preset: str = "medium"
    audio_from: Path | None = None  # take the first audio stream of this file (AAC), else none

    def __post_init__(self) -> None:
        if not 0 <= self.crf <= 51:
            raise MediaError(f"crf must be between 0 and 51, not {self.crf}")
        if self.preset not in PRESETS:
            raise MediaError(
                f"unknown x264 preset {self.preset!r}; use one of {', '.join(PRESETS)}"
            )

    @property
    def out_size(self) -> tuple[int, int]:
        return self.width + self.width % 2, self.height + self.height % 2


def encoder_argv(spec: EncodeSpec, out: Path) -> list[str]:
    video = ffmpeg.input(
        "pipe:0",
        format="rawvideo",
        pix_fmt=pipe_format(spec.width, spec.height),
        s=f"{spec.width}x{spec.height}",
        framerate=str(spec.fps),
    )
    if spec.width % 2 or spec.height % 2:
        # yuv420p needs even sizes: pad with black (never crop, so no redaction is lost).
        video = video.filter("pad", "ceil(iw/2)*2", "ceil(ih/2)*2")
    streams = [video]
    options: dict[str, Any] = {
        **CLEAN_OUTPUT_OPTIONS,
        "vcodec": "libx264",
        "pix_fmt": "yuv420p",
        "crf": spec.crf,
        "preset": spec.preset,
    }
    if spec.width * spec.height > LARGE_FRAME_PIXELS and spec.preset not in _NO_LOOKAHEAD_PRESETS:
        options["x264-params"] = LARGE_FRAME_X264
    if spec.audio_from is not None:
        streams.append(ffmpeg.input(safe_path(spec.audio_from))["a:0"])
        options.update({"acodec": "aac", "b:a": "128k", "flags:a": "+bitexact"})
    else:
        options["an"] = None
    argv: list[str] = ffmpeg.output(*streams, safe_path(out), **options).compile(
        cmd=binary("ffmpeg")
    )
    return [argv[0], "-hide_banner", "-loglevel", "error", "-y", *argv[1:]]


class FrameWriter:
    """Feed frames to an ffmpeg encoder through a bounded queue; ``finish()`` or ``abort()``."""

    def __init__(self, spec: EncodeSpec, out: Path, *, queue_budget_bytes: int = 40 << 20) -> None:
        self.spec = spec
        self.out = out
        self._queue: queue.Queue[object] = queue.Queue(
            queue_slots(spec.width * spec.height * 3, queue_budget_bytes, lo=1)
        )
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._thread: threading.Thread | None = None
        self.frames_written = 0

    def start(self) -> None:
        self._proc, self._stderr = spawn(
            encoder_argv(self.spec, self.out), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        self._thread = threading.Thread(target=self._run, name="consentclip-encode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        sink = self._proc.stdin
        yuv = pipe_format(self.spec.width, self.spec.height) == "yuv420p"
        try:
            while True:
                item = self._queue.get()
                if item is _END or self._stop.is_set():
                    return
                assert isinstance(item, np.ndarray)
                if yuv:
                    item = cv2.cvtColor(item, cv2.COLOR_BGR2YUV_I420)
                sink.write(memoryview(item).cast("B"))
        except Exception as exc:
            # BrokenPipeError: ffmpeg died, its stderr says why. Anything else (a cv2.error,
            # a bug) is stored too: write() and finish() raise it instead of waiting on a
            # queue that nobody empties any more.
            self._error = exc
            self._stop.set()

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.spec.height, self.spec.width, 3) or frame.dtype != np.uint8:
            raise MediaError(f"internal: frame of shape {frame.shape} does not match the encoder")
        frame = np.ascontiguousarray(frame)
        while True:
            if self._error is not None or self._stop.is_set():
                raise self._failure()
            try:
                self._queue.put(frame, timeout=_POLL_S)
                break
            except queue.Full:
                continue
        self.frames_written += 1

    def _failure(self) -> MediaError:
        reap(self._proc)
        error = self._error
        if error is not None and not isinstance(error, (OSError, ValueError)):
            return MediaError(f"encoding failed: {type(error).__name__}: {error}")
        return self._encoder_error(str(error or "ffmpeg stopped"))

    def _encoder_error(self, fallback: str) -> MediaError:
        """What ffmpeg said, with a full disk named as such wherever in its output it shows."""
        said = stderr_text(self._stderr)
        if "No space left on device" in said:
            return DiskFullError()
        return MediaError(f"encoding failed: {last_line(said) or fallback}")

    def finish(self) -> None:
        """Flush the queue, close stdin and wait for ffmpeg; MediaError if it did not succeed."""
        assert self._proc is not None and self._thread is not None
        while self._thread.is_alive():
            try:
                self._queue.put(_END, timeout=_POLL_S)
                break
            except queue.Full:
                continue
        self._thread.join()
        if self._error is not None:
            raise self._failure()
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except OSError as exc:
            self._error = exc
            raise self._failure() from exc
        rc = self._proc.wait()
        if rc != 0:
            raise self._encoder_error(f"ffmpeg exit {rc}")
        # ffmpeg 5.1 exits 0 when the trailer cannot be written (a full disk): read what it said.
        said = stderr_text(self._stderr)
        if "No space left on device" in said or any(s in said for s in _WRITE_FAILURES):
            raise self._encoder_error("the output was not completed")

    def close(self) -> None:
        """Always safe: stops the thread, kills and reaps ffmpeg if it still runs."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is not None and self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(_END)
        reap(self._proc)
        if self._thread is not None:
            self._thread.join()
        if self._proc is not None and self._proc.stdin is not None:
            # The pipe may already be broken: ffmpeg has been killed on purpose.
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
