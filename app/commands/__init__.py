"""Sub-commands of run_app.py, one module each (see app/cli.py)."""
