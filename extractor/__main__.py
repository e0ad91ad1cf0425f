"""``python -m extractor`` is the ``kstack`` command."""

from .cli import console

if __name__ == "__main__":
    console()
