"""``python -m lrlab``: the same as the ``lrlab`` command."""

from lrlab.cli import run

if __name__ == "__main__":
    run()
