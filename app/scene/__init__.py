"""The scene of one open image, without Qt: ``model.Scene`` (base image, layers, crosshair in LPS
mm, window/level, frame, oblique rotations, display state) and what it is computed with:
``mpr`` (planes and reslicing), ``render2d`` (window/level and colour maps), ``measure``
(calibrated measurements)."""
