"""Intrapartum transperineal ultrasound: PS/FH segmentation, angle of progression, head-symphysis
distance, plane score, cine best-frame choice (no Qt)."""
