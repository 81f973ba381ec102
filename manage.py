#!/usr/bin/env python
import os
import sys

# Commands that read no setting, no database and no app model run without Django at all (no
# settings, no app registry, no admin, no Channels): a script or a CI step pays only for what it
# uses (benchmarks/cli_start.py). `manage.py help` and call_command still know them.
STANDALONE = {"release-plan": "cdportal.pipeline.release_plan_cli"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdportal.settings")
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command in STANDALONE:
        from importlib import import_module

        sys.exit(import_module(STANDALONE[command]).main(sys.argv[2:]))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
