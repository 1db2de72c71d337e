"""Tests that need an AI layer in a review store without running a backend: sign it as the job
runner would at the end of a job (app/jobs/attest.py). The store refuses unsigned backend claims."""
from __future__ import annotations

from app.jobs.attest import attest_layer


def runner_made(layer):
    """The layer, signed by this installation's runner as if a job had returned it."""
    return attest_layer(layer)
