#!/usr/bin/env python3
"""Loupe entry point: `python run_app.py` opens the desktop shell on the bundled sample study;
`python run_app.py --help` lists the scriptable sub-commands (info, convert, screenshot, ...)."""
import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
