"""Registration marks printed in the corners of every consent form page.

Four ArUco markers (OpenCV's 4x4 dictionary) per page: marker ``4 * (page - 1) + corner`` sits in
corner 0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left. A scan or a phone photo of a page
is mapped back onto the printed layout through them (a homography, so perspective is undone), and
which markers are seen says which page it is. Geometry only: ``pdf`` draws them, ``scan`` finds
them.
"""

from __future__ import annotations

import functools

MM = 72 / 25.4
SIZE = 8 * MM  # printed side of a marker, quiet border included in the 6x6 cell grid
INSET = 5 * MM  # from the paper's edge; inside the form's 15 mm margin, outside most printers' 4 mm
CELLS = 6  # 4x4 payload + a one-cell black border
MAX_PAGES = 12  # DICT_4X4_50 holds 50 ids; 4 per page


def marker_id(page: int, corner: int) -> int:
    return 4 * (page - 1) + corner


def page_and_corner(marker: int) -> tuple[int, int]:
    return marker // 4 + 1, marker % 4


def squares(page_w: float, page_h: float) -> list[tuple[int, float, float]]:
    """(corner, x, y) of each marker's top-left, in points from the page's top-left."""
    far_x, far_y = page_w - INSET - SIZE, page_h - INSET - SIZE
    return [(0, INSET, INSET), (1, far_x, INSET), (2, far_x, far_y), (3, INSET, far_y)]


def corner_points(page_w: float, page_h: float, corner: int) -> list[tuple[float, float]]:
    """The four corners of one marker (top-left, top-right, bottom-right, bottom-left), in points
    from the page's top-left, in the order OpenCV's detector reports them."""
    _, x, y = squares(page_w, page_h)[corner]
    return [(x, y), (x + SIZE, y), (x + SIZE, y + SIZE), (x, y + SIZE)]


# The 4x4 payload of DICT_4X4_50's first 48 markers (4 per page, MAX_PAGES pages), row by row
# from the top, the most significant bit the top-left cell, 1 = white. Written down here so that
# drawing a form needs no OpenCV (consent/ knows no pixels); tests/test_architecture.py checks
# every entry against OpenCV's own generateImageMarker, which is what the scan reader detects.
PAYLOADS = (
    0xB532, 0x0F9A, 0x332D, 0x9946, 0x549E, 0x79CD, 0x9E2E, 0xC4F2,
    0xFEDA, 0xCF56, 0xF991, 0x11A7, 0x0EB7, 0x2A0F, 0x24B1, 0x263E,
    0x4665, 0x6600, 0x6C5E, 0x76AF, 0x868B, 0xB02B, 0xCCD5, 0xDD82,
    0xFE47, 0x9471, 0xACE4, 0xA554, 0x2123, 0x346F, 0x4415, 0x57B2,
    0x9ECF, 0xF0CB, 0x08AE, 0x0929, 0x1875, 0x04FF, 0x0DF6, 0x1C5A,
    0x1718, 0x2A28, 0x328C, 0x38B2, 0x24E8, 0x2EEB, 0x2D3F, 0x4B64,
)  # fmt: skip


@functools.cache
def bits(marker: int) -> tuple[tuple[bool, ...], ...]:
    """The marker's 6x6 cells, True where black, row by row from the top."""
    payload = PAYLOADS[marker]
    inner = CELLS - 2
    rows = []
    for row in range(CELLS):
        cells = []
        for col in range(CELLS):
            if row in (0, CELLS - 1) or col in (0, CELLS - 1):
                cells.append(True)  # the black border
            else:
                shift = inner * inner - 1 - ((row - 1) * inner + (col - 1))
                cells.append(not (payload >> shift) & 1)
        rows.append(tuple(cells))
    return tuple(rows)
