"""The ``consist`` command line (Typer): app.py is the root."""
