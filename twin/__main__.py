"""``python -m twin`` runs the CLI."""

from twin.cli.main import main

main()
