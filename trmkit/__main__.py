from trmkit.cli import main

main()
