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


@functools.cache
def bits(marker: int) -> tuple[tuple[bool, ...], ...]:
    """The marker's 6x6 cells, True where black, row by row from the top."""
    import cv2

    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    image = cv2.aruco.generateImageMarker(dictionary, marker, CELLS)
    return tuple(tuple(bool(v < 128) for v in row) for row in image)
