"""``python -m secondlook``: the command line, run by the interpreter that runs it.

dvc.yaml's stages call ``python -m secondlook …`` rather than the ``secondlook`` script, so a
stage runs with the same environment as DVC itself even where the environment's ``bin/``
folder is not on ``PATH`` (``.venv/bin/dvc repro`` without activation; see the Makefile's
``venv-path.pth``).
"""

from secondlook.cli import app

app(prog_name="secondlook")
