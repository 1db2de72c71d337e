"""Batch runs of one backend over many inputs (a folder tree or a catalog query) on Ray: a local
Ray on loopback by default, or an existing cluster. Each item runs the same backend pipeline as
``run_app.py infer`` (same result folder layout, same content-keyed cache); ``OUT/manifest.json``
records every item as it finishes so a stopped run resumes. Ray is imported only here, lazily:
nothing in the desktop's start-up imports this package."""
