"""The built wheel carries its content: installed alone, ``certlab`` finds and validates it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import REPO


def sh(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None):
    proc = subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
        timeout=300,
    )
    return proc


def test_an_installed_wheel_validates_its_bundled_content(tmp_path):
    dist = tmp_path / "dist"
    built = sh(sys.executable, "-m", "pip", "wheel", REPO, "--no-deps", "-w", dist, cwd=REPO)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("certlab-*.whl")

    venv = tmp_path / "venv"
    made = sh(sys.executable, "-m", "venv", "--system-site-packages", venv, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    installed = sh(
        bin_dir / "python", "-m", "pip", "install", "--no-deps", "--no-index", wheel, cwd=tmp_path
    )
    assert installed.returncode == 0, installed.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CERTLAB_CONTENT", "PYTHONPATH")}
    certlab = bin_dir / "certlab"

    validated = sh(certlab, "content", "validate", "--json", cwd=elsewhere, env=env)
    assert validated.returncode == 0, validated.stdout[-2000:] + validated.stderr
    report = json.loads(validated.stdout)
    assert report["valid"] is True
    assert report["counts"]["levels"] == 4 and report["counts"]["exams"] >= 4
    assert report["counts"]["questions"] > 0

    located = sh(certlab, "locate", "--json", cwd=elsewhere, env=env)
    assert located.returncode == 0, located.stderr
    content = Path(json.loads(located.stdout)["content"]).resolve()
    site = sh(
        bin_dir / "python",
        "-c",
        "import grader, sys; print(grader.__file__)",
        cwd=elsewhere,
        env=env,
    )
    package = Path(site.stdout.strip()).resolve().parent
    assert venv.resolve() in package.parents, "the venv's own grader must be the one imported"
    assert content == package / "_content"
    assert content.parent.parent.name == "site-packages"
    assert Path(report["root"]).resolve() == content
    for folder in ("scenarios", "question_bank"):
        assert (content / folder).is_dir()
