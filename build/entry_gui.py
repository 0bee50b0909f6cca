"""Frozen entry point of the desktop app: `OpenAlphaWorkstation` with no arguments opens the window."""

import multiprocessing
import sys

from workstation.cli import main

if __name__ == "__main__":
    # The backtest lab's spawn pool re-runs this executable for each worker: let them be workers.
    multiprocessing.freeze_support()
    if len(sys.argv) == 1:
        sys.argv.append("gui")
    main()
