"""``python -m grader`` is the ``certlab`` command."""

from grader.cli import main

raise SystemExit(main())
