"""The exit codes of the ``certlab`` command."""

from enum import IntEnum


class Exit(IntEnum):
    OK = 0  #: success
    FAILED = 1  #: the thing checked failed (an exam not passed, a lab check failing)
    USAGE = 2  #: bad command line or unknown id
    CONTENT_INVALID = 3  #: content (tracks, exams, questions, labs) has errors
    CLUSTER_UNREACHABLE = 4  #: no cluster, or one certlab may not use
    INTERRUPTED = 130  #: Ctrl+C
