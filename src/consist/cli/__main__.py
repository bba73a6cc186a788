"""``python -m consist.cli``: the same command as the ``consist`` console script."""

from consist.cli.main import main

if __name__ == "__main__":
    main()
