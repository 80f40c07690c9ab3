"""A learner's progress: spaced-repetition cards, readiness, mastery and what to do next."""
