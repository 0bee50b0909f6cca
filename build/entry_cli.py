"""Frozen entry point of the command line: `workstation doctor`, `workstation keys list`, ..."""

import multiprocessing

from workstation.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # sweeps and discovery run process pools
    main()
