"""One training manifest over several local datasets (``run_app.py catalog merge``): items with
dataset, modality, anatomy, task, labels mapped to a declared schema, a patient/case-level split,
and near-duplicates across datasets found by a perceptual hash. Qt-free."""
