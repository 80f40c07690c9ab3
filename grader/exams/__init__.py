"""Exams: blueprints, seeded forms, timed sessions, scoring and results."""
