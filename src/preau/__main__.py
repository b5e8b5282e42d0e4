"""The `preau` console command: Django's management commands with Préau's settings."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "preau.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["preau", *sys.argv[1:]])


if __name__ == "__main__":
    main()
