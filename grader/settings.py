"""Typed settings with one precedence: command line, environment, config file, defaults.

Environment variables: ``CERTLAB_LEARNER``, ``CERTLAB_INSTRUCTOR`` (1/0). The config file is
``config.toml`` in :func:`grader.paths.config_dir`, with keys ``learner`` and ``instructor``.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, replace
from typing import Any

from grader import paths


@dataclass(frozen=True)
class Settings:
    learner: str = "learner"
    instructor: bool = False

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with the given non-None values set (the command line's layer)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


class SettingsError(Exception):
    """The config file cannot be read."""


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(**cli: Any) -> Settings:
    """Resolve settings: ``cli`` values win over the environment, then the file, then defaults."""
    try:
        default_learner = getpass.getuser()
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        default_learner = "learner"
    settings = Settings(learner=default_learner)
    file = paths.config_file()
    if file.is_file():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{file}: {exc}") from exc
        settings = settings.with_overrides(
            learner=str(data["learner"]) if "learner" in data else None,
            instructor=bool(data["instructor"]) if "instructor" in data else None,
        )
    env_instructor = os.environ.get("CERTLAB_INSTRUCTOR")
    settings = settings.with_overrides(
        learner=os.environ.get("CERTLAB_LEARNER") or None,
        instructor=_truthy(env_instructor) if env_instructor is not None else None,
    )
    return settings.with_overrides(**cli)
