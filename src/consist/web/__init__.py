"""The local web app of ``consist ui`` (needs the ``ui`` extra): app.py serves it."""
