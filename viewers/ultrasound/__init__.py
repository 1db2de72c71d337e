"""The ultrasound pane: cine playback, region calibration, editable AoP/HSD lines (no torch here)."""
