"""Image quality: degradation simulator (``degrade``), no-reference assessor (``assess``),
assess-then-restore (``restore``), their backends (``spec``/``backend``) and the assessor's
training recipe (``dataset``, ``samples``, ``train_assessor``)."""
