"""Subcommands of the ``rmeval`` CLI, one module each (``add_parser`` + ``run``)."""
