"""DICOM reading: header scan (scan.py), series splitting and geometry, pixel loading."""
