"""``python -m greendc``: the same as the ``greendc`` command."""

from greendc.cli.main import app

if __name__ == "__main__":
    app()
