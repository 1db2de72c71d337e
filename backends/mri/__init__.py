"""MRI reconstruction from multi-coil Cartesian k-space (no Qt, numpy/scipy/PyWavelets).

Modules: ``fft`` (centred unitary FFTs, BART's convention), ``espirit`` (coil maps from the
calibration region), ``operators`` (the SENSE forward model), ``solvers`` (CG-SENSE, FISTA with
wavelet l1 / TV), ``weight`` (regularisation weight by k-space cross-validation), ``masks``
(retrospective sampling patterns), ``layout`` (BART axes -> batches of 2D problems), ``recon``
(the pipeline), ``spec``/``model`` (the ``mri-recon`` backend)."""
