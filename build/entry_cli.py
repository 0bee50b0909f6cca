"""Frozen entry point of the command line: `workstation doctor`, `workstation keys list`, ..."""

from workstation.cli import main

main()
