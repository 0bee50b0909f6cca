"""Frozen entry point of the desktop app: `OpenAlphaWorkstation` with no arguments opens the window."""

import sys

from workstation.cli import main

if len(sys.argv) == 1:
    sys.argv.append("gui")
main()
