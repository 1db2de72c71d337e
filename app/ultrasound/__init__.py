"""Qt-free ultrasound logic the pane uses: cine frames and timing, per-region calibration (depth and
scale), and editable AoP/HSD lines saved as human versions in the review store."""
