"""Where the pixels go: the size an image is scaled to, the part of it kept, the canvas
it is padded onto, from its size and the Images API's `w`, `h`, `fit` and `f`. Pure
arithmetic, so that the budget checks know the result's size before anything is decoded.

As Contentful's reference describes the modes:
- no `fit`: scaled to fit inside `w` x `h`, keeping the aspect ratio;
- `pad`: the same, then centered on a `w` x `h` canvas of the background colour;
- `fill`: scaled to cover `w` x `h`, then cut to it around the focus area `f`;
- `thumb`: as `fill` (Contentful finds faces for `f=face`; this server uses the center);
- `scale`: scaled to exactly `w` x `h`, the aspect ratio changed if need be;
- `crop`: a `w` x `h` part of the original at the focus area, not scaled (at most the whole).
Given only one of `w` and `h`, every mode but `crop` scales to it keeping the aspect ratio.
Images are scaled up as well as down. A side that only follows the aspect ratio stays
within 4000 pixels: `w=4000` on a 100 x 1000 image gives 400 x 4000, not 4000 x 40000.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirror.images.params import MAX_DIMENSION, ImageParams

Size = tuple[int, int]
Box = tuple[int, int, int, int]  # left, top, right, bottom


@dataclass(frozen=True)
class Plan:
    """Scale the whole image to `scale`, then keep `keep` of it, then center it on a
    canvas of `canvas`; None: that step changes nothing."""

    scale: Size | None = None
    keep: Box | None = None
    canvas: Size | None = None

    def result(self, source: Size) -> Size:
        """The size of the image this plan makes of one of `source`'s size."""
        if self.canvas is not None:
            return self.canvas
        if self.keep is not None:
            left, top, right, bottom = self.keep
            return (right - left, bottom - top)
        return self.scale or source


def plan_for(source: Size, params: ImageParams) -> Plan:
    """The plan that gives what `params` ask of an image of size `source` (as shown,
    its EXIF orientation applied)."""
    width, height = params.width, params.height
    if width is None and height is None:
        return Plan()
    if params.fit == "crop":
        window = (min(width or source[0], source[0]), min(height or source[1], source[1]))
        return Plan(keep=window_at(source, window, params.focus))
    if params.fit == "scale" and width and height:
        return Plan(scale=_changed(source, (width, height)))
    if params.fit in ("fill", "thumb") and width and height:
        factor = max(width / source[0], height / source[1])
        covering = (
            max(width, round(source[0] * factor)),
            max(height, round(source[1] * factor)),
        )
        return Plan(
            scale=_changed(source, covering),
            keep=window_at(covering, (width, height), params.focus),
        )
    inside = fitted(source, width, height)
    canvas = (width or inside[0], height or inside[1]) if params.fit == "pad" else None
    return Plan(scale=_changed(source, inside), canvas=canvas)


def fitted(source: Size, width: int | None, height: int | None) -> Size:
    """`source` scaled, aspect ratio kept, to fit inside `width` x `height` (a side not
    given: MAX_DIMENSION)."""
    factor = min((width or MAX_DIMENSION) / source[0], (height or MAX_DIMENSION) / source[1])
    return (max(1, round(source[0] * factor)), max(1, round(source[1] * factor)))


def window_at(source: Size, window: Size, focus: str | None) -> Box:
    """The box of size `window` inside `source` at the focus area: `left`/`right` and
    `top`/`bottom` push it to that edge, the rest (center, face, faces) centers it."""
    spare_x, spare_y = source[0] - window[0], source[1] - window[1]
    where = focus or "center"
    left = 0 if "left" in where else spare_x if "right" in where else spare_x // 2
    top = 0 if "top" in where else spare_y if "bottom" in where else spare_y // 2
    return (left, top, left + window[0], top + window[1])


def _changed(source: Size, size: Size) -> Size | None:
    return None if size == source else size
