"""certlab's Textual app: a thin face over the ``grader`` engine."""
