"""The one error every cluster operation raises: a learner-readable reason, never a traceback."""

from __future__ import annotations


class ClusterError(Exception):
    """The cluster cannot be started, reached or used; ``str()`` says why and what to do."""


class Forbidden(ClusterError):
    """The cluster refused the request (RBAC); the message names the missing permission."""


class Unreachable(ClusterError):
    """The API server does not answer."""


class NotFound(ClusterError):
    """The object asked for does not exist (yet)."""
