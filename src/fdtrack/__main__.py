"""`python -m fdtrack`: the same command as `fdtrack`."""

from fdtrack.cli import main

main()
