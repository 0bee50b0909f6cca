from workstation.cli import main

main()
