"""Drawing helpers of the feedback pictures, below both the exercises' ``figures`` hooks
(``autograder/checks/*``) and the feedback page (``autograder/feedback.py``), so that neither imports
the other: a Figure without pyplot, PNG bytes, bounded subsets of what a student returned (with a
note for the caption of what was left out) and the usual panels (your submission / reference /
difference). Captions and panel titles are in the catalogue (``autograder.messages``, keys ``fig.*``).
"""

from __future__ import annotations

import io
import threading

from .messages import text


def new_figure(width: float = 6.4, height: float = 3.6):
    """A matplotlib Figure without pyplot: no global state, safe in worker threads, any backend."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


# What one picture may draw, whatever the student returned (results are validated numeric arrays of
# up to ~32 MiB: 40,000 ICE rows took 30 s and 700 MiB to draw as they were). The hooks pass what
# they draw through the helpers below, which choose a fixed, even subset and say so in the caption.
MAX_DRAW_VALUES = 2**22  # a result with more values is not drawn at all (4 Mi float64 = 32 MiB)
MAX_CURVES = 50  # lines per panel
MAX_POINTS = 2_000  # points per line
MAX_IMAGE_SIDE = 256  # pixels per side of a heatmap or image
MAX_BARS = 40
MAX_LABEL_CHARS = 40

_drawing = threading.local()  # the notes of the picture being drawn in this thread


def start_notes() -> None:
    """From now on, this thread's drawing helpers note what they leave out (see ``taken_notes``)."""
    _drawing.notes = []


def taken_notes() -> list[tuple[str, dict]]:
    """(message key, params) of what the helpers left out since ``start_notes``; notes stop."""
    notes, _drawing.notes = getattr(_drawing, "notes", None) or [], None
    return notes


def cut_note(notes: list[tuple[str, dict]], language: str) -> str:
    """The notes as one text for a caption: "only 50 of 40000 curves shown, chosen evenly; ..."."""
    return "; ".join(text(key, language, **params) for key, params in notes)


def _cut(key: str, **params) -> None:
    notes = getattr(_drawing, "notes", None)
    if notes is not None and (key, params) not in notes:
        notes.append((key, params))


def drawable(value):
    """A result as a float64 array when it can be drawn (numbers, not empty, all finite, at most
    ``MAX_DRAW_VALUES`` values), else None: text, NaN, the marker of a result too big to keep (the
    check's message says why) or a result too big to draw (the caption says so)."""
    import numpy as np

    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or not array.size:
        return None
    if array.size > MAX_DRAW_VALUES:
        _cut("fig.too_big_to_draw", size=f"{array.size:,}")
        return None
    if not np.all(np.isfinite(array)):
        return None
    return array.astype(np.float64)


def _even(total: int, limit: int):
    import numpy as np

    return np.unique(np.linspace(0, total - 1, max(2, limit)).round().astype(np.int64))


def rows_to_draw(array, limit: int = MAX_CURVES):
    """At most ``limit`` rows (curves) of a 2-D array, evenly spaced, first and last included."""
    if len(array) <= limit:
        return array
    index = _even(len(array), limit)
    _cut("fig.cut_curves", shown=len(index), total=len(array))
    return array[index]


def points_to_draw(x, y, limit: int = MAX_POINTS):
    """(x, y) of one line with at most ``limit`` points, evenly spaced, first and last included."""
    if len(y) <= limit:
        return x, y
    index = _even(len(y), limit)
    _cut("fig.cut_points", shown=len(index), total=len(y))
    return x[index], y[index]


def image_to_draw(array, limit: int = MAX_IMAGE_SIDE):
    """A 2-D heatmap or (H, W, C) image with at most ``limit`` pixels per side: means of blocks."""
    import numpy as np

    if array.ndim not in (2, 3) or max(array.shape[:2]) <= limit:
        return array
    step_y, step_x = -(-array.shape[0] // limit), -(-array.shape[1] // limit)  # (never more than the side)
    height, width = array.shape[0] // step_y * step_y, array.shape[1] // step_x * step_x
    small = array[:height, :width].reshape(height // step_y, step_y, width // step_x, step_x,
                                           *array.shape[2:]).mean(axis=(1, 3))
    _cut("fig.cut_image", shape=tuple(array.shape), small=tuple(np.shape(small)))
    return small


def bars_to_draw(names, values, limit: int = MAX_BARS):
    """The first ``limit`` (label, value) pairs, labels cut to ``MAX_LABEL_CHARS``."""
    if len(values) > limit:
        _cut("fig.cut_bars", shown=limit, total=len(values))
        names, values = names[:limit], values[:limit]
    labels = [str(name) for name in names]
    return [label if len(label) <= MAX_LABEL_CHARS else label[:MAX_LABEL_CHARS - 1] + "…" for label in labels], values


def png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def comparison_panels(got, want, language: str) -> list[tuple[str, object]]:
    """(title, values) of the panels that compare a 2-D result with the reference: the student's (when it is
    2-D), the reference, and their difference (when the shapes agree)."""
    panels = [(text("fig.reference", language), want)]
    if got is not None and got.ndim == 2:
        panels.insert(0, (text("fig.student", language), got))
        if got.shape == want.shape:
            panels.append((text("fig.difference", language), got - want))
    return panels
