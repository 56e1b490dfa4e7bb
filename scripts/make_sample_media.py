"""Regenerate the files in sample_media/ from public-domain sources and drawings.

    make sample-media        (installs scikit-image into the venv, then runs this)

Sources: the face is NASA's portrait of astronaut Eileen Collins (public domain, shipped with
scikit-image as ``skimage.data.astronaut()``); the arm, skin marks and backgrounds are drawn here
with numpy/OpenCV from a fixed seed. Every file is deterministic up to the encoder build.
ffmpeg is used only to encode and to plant metadata, never to fetch anything.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parents[1] / "sample_media"
FPS = 25
RNG_SEED = 20261122

# Where the marks sit on the arm clip, in output pixels; sample_media/README.md quotes these so a
# clinician can try --keep on the mole. The arm sways by at most +-ARM_SWAY px horizontally.
ARM_SWAY = 8
MOLE_CENTRE = (470, 200)
LESION_KEEP_BOX = (450, 180, 40, 40)  # x, y, w, h: covers the mole through the sway


def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if not path:
        raise SystemExit("ffmpeg is needed: apt-get install ffmpeg")
    return path


def astronaut_bgr() -> np.ndarray:
    from skimage import data  # dev-only dependency: `make sample-media` installs it

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def encode(frames: list[np.ndarray], out: Path, extra_out: list[str], audio: str | None) -> None:
    """Pipe BGR frames into ffmpeg; ``audio`` is a lavfi source spec or None."""
    h, w = frames[0].shape[:2]
    argv = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y"]
    argv += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(FPS), "-i", "-"]
    if audio:
        argv += ["-f", "lavfi", "-i", audio, "-shortest"]
    argv += ["-c:v", "libx264", "-preset", "slow", "-crf", "28", "-pix_fmt", "yuv420p"]
    if audio:
        argv += ["-c:a", "aac", "-b:a", "48k"]
    argv += [*extra_out, str(out)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for frame in frames:
        proc.stdin.write(np.ascontiguousarray(frame).tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit(f"ffmpeg failed writing {out}")


def clinic_background(w: int, h: int) -> np.ndarray:
    """A pale wall with a darker skirting band: a plain consulting-room backdrop."""
    ramp = np.linspace(225, 200, h, dtype=np.float32)[:, None]
    bg = np.empty((h, w, 3), np.float32)
    bg[..., 0] = ramp + 8
    bg[..., 1] = ramp + 4
    bg[..., 2] = ramp
    bg[int(h * 0.85) :] *= 0.7
    return bg.clip(0, 255).astype(np.uint8)


def paste(dst: np.ndarray, src: np.ndarray, x: int, y: int) -> None:
    """Copy src into dst at (x, y), clipped to dst's bounds."""
    h, w = dst.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + src.shape[1], w), min(y + src.shape[0], h)
    if x1 > x0 and y1 > y0:
        dst[y0:y1, x0:x1] = src[y0 - y : y1 - y, x0 - x : x1 - x]


def talking_head(face: np.ndarray) -> list[np.ndarray]:
    """Head and shoulders swaying and nodding slightly, as a patient does while talking."""
    w, h = 640, 360
    portrait = face[0:330, 90:400]  # head, hair and shoulders of the portrait
    portrait = cv2.resize(portrait, (264, 281), interpolation=cv2.INTER_AREA)
    ph, pw = portrait.shape[:2]
    frames = []
    for i in range(4 * FPS):
        t = i / FPS
        frame = clinic_background(w, h)
        x = int(w / 2 - pw / 2 + 60 * np.sin(2 * np.pi * t / 4))
        y = int(h - ph + 6 * np.sin(2 * np.pi * t / 1.3))
        paste(frame, portrait, x, y)
        frames.append(frame)
    return frames


def draw_arm(w: int, h: int, dx: int, rng: np.random.Generator) -> np.ndarray:
    """A forearm lying across the frame on a blue drape, with a tattoo, a mole and freckles."""
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:] = (120, 70, 30)  # surgical-blue drape (BGR)
    skin = np.array([120, 150, 205], np.float32)  # Fitzpatrick III-ish, BGR
    mask = np.zeros((h, w), np.uint8)
    pts = np.array([[0, 110], [w, 70], [w, 300], [0, 280]], np.int32)
    pts[:, 0] += dx
    cv2.fillPoly(mask, [pts], 255)
    shade = np.linspace(0.8, 1.05, h, dtype=np.float32)[:, None, None]
    arm = (skin[None, None, :] * shade).clip(0, 255)
    frame = np.where(mask[..., None] > 0, arm, frame).astype(np.uint8)
    # Freckles: small, faint, scattered (seeded so every frame has the same ones, moved with dx).
    for fx, fy in rng.integers((40, 140), (600, 260), size=(25, 2)):
        cv2.circle(frame, (int(fx) + dx, int(fy)), 2, (95, 120, 170), -1, cv2.LINE_AA)
    # Tattoo: black line-art star in a circle with a word under it, plus a red heart.
    cx, cy = 200 + dx, 190
    cv2.circle(frame, (cx, cy), 42, (30, 30, 35), 3, cv2.LINE_AA)
    star = [
        (cx + int(38 * np.cos(a)), cy + int(38 * np.sin(a)))
        for a in np.linspace(-np.pi / 2, 3.5 * np.pi, 6)[:-1]
    ]
    order = [0, 2, 4, 1, 3, 0]
    for a, b in itertools.pairwise(order):
        cv2.line(frame, star[a], star[b], (30, 30, 35), 3, cv2.LINE_AA)
    cv2.putText(frame, "MUM", (cx - 38, cy + 78), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (40, 35, 30), 3)
    heart = np.array([[300, 175], [315, 160], [330, 175], [315, 200]], np.int32)
    heart[:, 0] += dx
    cv2.fillPoly(frame, [heart], (40, 40, 170), cv2.LINE_AA)
    # The mole being taught: a dark brown, slightly irregular naevus.
    mx, my = MOLE_CENTRE
    cv2.ellipse(frame, (mx + dx, my), (9, 7), 20, 0, 360, (30, 45, 75), -1, cv2.LINE_AA)
    return cv2.GaussianBlur(frame, (3, 3), 0)


def arm_clip() -> list[np.ndarray]:
    frames = []
    for i in range(4 * FPS):
        dx = round(ARM_SWAY * np.sin(2 * np.pi * i / (4 * FPS)))
        frames.append(draw_arm(640, 360, dx, np.random.default_rng(RNG_SEED)))
    return frames


def lesion_photo(out: Path) -> None:
    """A still of the arm with EXIF a phone would write: GPS, make/model, date, orientation 6."""
    frame = draw_arm(800, 600, 0, np.random.default_rng(RNG_SEED))
    rgb = Image.fromarray(frame[:, :, ::-1])
    # Store the pixels rotated and let EXIF orientation 6 turn them upright, as phones do.
    stored = rgb.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 14 Pro"  # Model
    exif[0x0131] = "17.1.1"  # Software
    exif[0x0132] = "2026:03:14 10:21:07"  # DateTime
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = "2026:03:14 10:21:07"  # DateTimeOriginal
    exif_ifd[0xA431] = "DXC-PATIENT-0042"  # BodySerialNumber: a device identifier
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (51.0, 31.0, 12.5)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 41.2)
    stored.save(out, "JPEG", quality=85, exif=exif.tobytes())


def label_card_photo(out: Path) -> tuple[int, int, int, int]:
    """A record card with a (fictional) patient's name beside a lesion on the forearm, and a
    hospital wristband: the scene of issue 16, drawn by bench/textsynth.py. Returns the keep box
    (x, y, w, h) around the lesion."""
    import importlib.util
    import sys

    bench = Path(__file__).resolve().parents[1] / "bench"
    spec = importlib.util.spec_from_file_location("textsynth", bench / "textsynth.py")
    assert spec is not None and spec.loader is not None
    textsynth = importlib.util.module_from_spec(spec)
    sys.modules["textsynth"] = textsynth
    spec.loader.exec_module(textsynth)
    frame = textsynth.still(
        textsynth.TextSpec(
            objects=("label", "wristband"), tone=3, width=960, height=540, seed=16, angle=6
        )
    )
    assert cv2.imwrite(str(out), frame.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return frame.keep


def phone_clip(face: np.ndarray, out: Path) -> None:
    """A portrait phone video stored sideways with a 90-degree display matrix and location tags."""
    upright = talking_head(face)[: 3 * FPS]
    # Crop to portrait 9:16 and store rotated, as an iPhone held upright does.
    frames = [cv2.rotate(f[:, 220:420], cv2.ROTATE_90_CLOCKWISE) for f in upright]
    frames = [cv2.resize(f, (640, 360)) for f in frames]
    # The display matrix is written by a stream-copy remux: ffmpeg 5.1 drops the legacy `rotate`
    # tag when it encodes, but turns it into a matrix when it copies.
    plain = out.with_suffix(".tmp.mp4")
    encode(frames, plain, [], audio="sine=frequency=220:duration=3,volume=0.3")
    tags = {
        "make": "Apple",
        "model": "iPhone 14 Pro",
        "location": "+51.5203-000.1280/",
        "com.apple.quicktime.location.ISO6709": "+51.5203-000.1280+021.000/",
        "creation_time": "2026-03-14T10:21:07Z",
        "title": "Jane Doe left forearm",
    }
    argv = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(plain), "-c", "copy"]
    argv += ["-metadata:s:v:0", "rotate=90", "-movflags", "+use_metadata_tags"]
    for key, value in tags.items():
        argv += ["-metadata", f"{key}={value}"]
    subprocess.run([*argv, "-f", "mov", str(out)], check=True)
    plain.unlink()


def main() -> None:
    OUT.mkdir(exist_ok=True)
    face = astronaut_bgr()
    # A speech-like audio track: a pulsing low tone standing in for a voice.
    voice = "sine=frequency=180:duration=4,volume='0.4*abs(sin(6*t))':eval=frame"
    encode(talking_head(face), OUT / "talking_head.mp4", ["-metadata", "title=Consultation"], voice)
    encode(arm_clip(), OUT / "arm_tattoo_mole.mp4", [], None)
    lesion_photo(OUT / "lesion_photo.jpg")
    phone_clip(face, OUT / "phone_clip.mov")
    keep = label_card_photo(OUT / "label_card_lesion.jpg")
    print(f"label_card_lesion.jpg: keep box for the lesion {','.join(map(str, keep))}")
    for path in sorted(OUT.iterdir()):
        if path.suffix in {".mp4", ".mov", ".jpg"}:
            print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
