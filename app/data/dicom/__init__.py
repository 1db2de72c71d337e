"""DICOM reading, split by job:

- ``scan``: header-only discovery of folder trees, file lists and DICOMDIRs (parallel, skips
  non-DICOM files with a recorded reason); ``fastheader``: a strict fast path for simple files.
- ``frames``: every 2D image in a file (classic, Siemens mosaic via CSA, enhanced multi-frame,
  cine) with its own geometry and scaling.
- ``geometry``: order, spacing, gaps and gantry tilt from positions; the LPS affine.
- ``series``: splitting into series and loading them (first-paint slice, threaded full load).
- ``pixels``: stored values (offset reads or pydicom's pixel plugins); ``resample``: the
  equidistant, tilt-corrected volume dcm2niix calls ``_Tilt_Eq``.
"""
