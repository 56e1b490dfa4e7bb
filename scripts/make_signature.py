"""Draw a sample handwritten-looking signature with OpenCV (sample_media/signatures/).

Used by ``make demo`` to e-sign a consent. Deterministic (a fixed curve, no randomness), so the
file is reproducible; it is a drawing, not anybody's real signature.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "sample_media" / "signatures" / "sample-signature.png"


def draw(width: int = 480, height: int = 140) -> np.ndarray:
    canvas = np.zeros((height, width, 4), dtype=np.uint8)  # transparent background
    ink = (110, 40, 20, 255)  # dark blue, BGRA
    # Cursive loops: a prolate cycloid (the pen runs back on itself), its loops growing and
    # shrinking like letters, drawn at sub-pixel precision.
    t = np.linspace(0, 1, 1600)
    turns = 9
    phase = t * 2 * np.pi * turns
    size = 18 + 14 * np.sin(t * np.pi * 3) ** 2
    x = 40 + t * (width - 110) - 0.9 * size * np.sin(phase)
    y = height * 0.55 - size * (1 - np.cos(phase)) * 0.9 + 12 * t
    stroke = (np.stack([x, y], axis=1) * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [stroke], False, ink, 3, cv2.LINE_AA, shift=4)
    # The underline flourish.
    u = np.linspace(0, 1, 200)
    ux = 40 + u * (width - 70)
    uy = height * 0.82 + 8 * np.sin(u * np.pi) - 6 * u
    flourish = (np.stack([ux, uy], axis=1) * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [flourish], False, ink, 2, cv2.LINE_AA, shift=4)
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description="Draw the sample signature PNG.")
    parser.add_argument("-o", "--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ok, png = cv2.imencode(".png", draw(), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise SystemExit("could not encode the signature PNG")
    args.out.write_bytes(png.tobytes())
    print(f"wrote {args.out} ({len(png)} bytes)")


if __name__ == "__main__":
    main()
