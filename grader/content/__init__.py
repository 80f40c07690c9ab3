"""Content: load, validate and index the tracks, exam forms and question bank."""

from grader.content.loader import Content, load_content
from grader.content.problems import Problem

__all__ = ["Content", "Problem", "load_content"]
