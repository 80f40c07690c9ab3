"""Where certlab keeps things. Every path comes from a function here, resolved at call time.

``CERTLAB_HOME`` overrides everything: data, config and workspaces all live under it. Without
it, platformdirs picks the platform's usual places. ``CERTLAB_CONTENT`` points the content
root (the folder holding ``scenarios/``, ``question_bank/`` and ``labs/``) somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "certlab"


def home() -> Path | None:
    """The ``CERTLAB_HOME`` override, or None when unset."""
    value = os.environ.get("CERTLAB_HOME")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """Folder for the database and other state."""
    if (root := home()) is not None:
        return root / "data"
    from platformdirs import user_data_path

    return user_data_path(APP, appauthor=False)


def config_dir() -> Path:
    """Folder for the configuration file."""
    if (root := home()) is not None:
        return root / "config"
    from platformdirs import user_config_path

    return user_config_path(APP, appauthor=False)


def config_file() -> Path:
    """The TOML configuration file (optional)."""
    return config_dir() / "config.toml"


def workspaces_dir() -> Path:
    """Folder holding one workspace per lab."""
    if (root := home()) is not None:
        return root / "workspaces"
    return Path.home() / "certlab-labs"


def database_path() -> Path:
    """The SQLite progress database."""
    return data_dir() / "certlab.db"


def content_root() -> Path:
    """The folder holding ``scenarios/``, ``question_bank/`` and ``labs/``.

    A wheel ships the content inside the package (``grader/_content``); an editable install or
    a source checkout reads it from the repository root.
    """
    if value := os.environ.get("CERTLAB_CONTENT"):
        return Path(value).expanduser()
    package = Path(__file__).resolve().parent
    bundled = package / "_content"
    if (bundled / "scenarios").is_dir():
        return bundled
    return package.parent


def schemas_dir() -> Path:
    """JSON Schemas for every kind of content, shipped as package data."""
    return Path(__file__).resolve().parent / "content" / "schemas"
