"""The ``k8s`` and ``manifests`` check sources: live cluster objects, and the same objects as
YAML in the workspace, as plain dicts, so the same ``expect`` trees grade online and offline.

``k8s``::

    source: {type: k8s, kind: Deployment, name: web}           # one object
    source: {type: k8s, kind: Pod, selector: {app: web}}       # {items: [...], count: n}
    source: {type: k8s, kind: Node, apiVersion: v1}            # cluster-scoped kinds
    source: {type: k8s, kind: Deployment, name: web, wait: 60} # poll until expect holds
    source: {type: k8s, kind: Deployment, name: web, poll: {timeout: 60, interval: 1, hold: 10}}

``namespace`` defaults to the lab's namespace (``namespace: "*"``: every namespace);
``fieldSelector`` filters lists. ``manifests``::

    source: {type: manifests, path: k8s/}                      # {items, count, files}
    source: {type: manifests, path: k8s/, kind: Deployment, name: web}   # one object
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.checks.sources.base import (
    NotGradable,
    SourceContext,
    SourceError,
    display,
    require,
    resolve,
)
from grader.cluster.errors import ClusterError, NotFound

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MAX_MANIFEST_FILES = 500


class ObjectMissing(SourceError):
    """The named object does not exist (yet); a polling check keeps waiting for it."""


# -- helpers -------------------------------------------------------------------------------
def _selector(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    raise SourceError(f"the check's source field `{field}` must be a mapping or a string")


def clean(obj: Any) -> Any:
    """An object without ``metadata.managedFields`` (noise for learners and evidence)."""
    if isinstance(obj, dict):
        meta = obj.get("metadata")
        if isinstance(meta, dict) and "managedFields" in meta:
            obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def _labels_match(obj: dict[str, Any], selector: str | None) -> bool:
    if not selector:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        if "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = (s.strip() for s in term.split("=", 1))
            if labels.get(key.rstrip("=")) != value.lstrip("="):
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _learner(ctx: SourceContext) -> str:
    """The learner, from the workspace layout ``<workspaces>/<learner>/<lab>``."""
    return ctx.workspace.parent.name or "learner"


# -- k8s -----------------------------------------------------------------------------------
def _resource(dyn: Any, kind: str, api_version: str | None) -> Any:
    """The discovered API resource for ``kind`` (a Kind, plural or short name)."""
    from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError

    from grader.cluster import client as kc

    def pick(found: list[Any]) -> Any | None:
        found = [r for r in found if "/" not in getattr(r, "name", "")]
        if not found:
            return None
        preferred = [r for r in found if getattr(r, "preferred", False)]
        core = [r for r in preferred or found if not getattr(r, "group", "")]
        return (core or preferred or found)[0]

    query = {"api_version": api_version} if api_version else {}

    def exact() -> tuple[Any, Exception | None]:
        try:
            return dyn.resources.get(kind=kind, **query), None
        except (ResourceNotFoundError, ResourceNotUniqueError) as exc:
            return None, exc

    found, problem = kc.call(exact, f"look up kind {kind}", dyn)
    if found is not None:
        return found
    if isinstance(problem, ResourceNotUniqueError):
        several = kc.call(lambda: dyn.resources.search(kind=kind, **query), "look up", dyn)
        if (chosen := pick(several)) is not None:
            return chosen
    wanted = kind.lower()
    everything = kc.call(lambda: dyn.resources.search(**query), f"look up kind {kind}", dyn)
    matches = [
        r
        for r in everything
        if wanted
        in {
            str(getattr(r, "kind", "")).lower(),
            str(getattr(r, "name", "")).lower(),
            str(getattr(r, "singular_name", "") or "").lower(),
            *(str(s).lower() for s in getattr(r, "short_names", None) or []),
        }
    ]
    chosen = pick(matches)
    if chosen is None:
        where = f" in {api_version}" if api_version else ""
        raise SourceError(
            f"the cluster has no resource kind {kind!r}{where} (is its CRD or add-on installed?)"
        )
    return chosen


def load_k8s(spec: dict[str, Any], ctx: SourceContext) -> Any:
    """Live objects: one named object, or ``{items, count}`` for a kind (and selector)."""
    from grader.cluster import client as kc
    from grader.cluster.backend import namespace_for
    from grader.cluster.state import load_state

    kind = require(spec, "kind")
    api_version = spec.get("apiVersion") or spec.get("api_version")
    name = spec.get("name")
    if name is not None and not isinstance(name, str):
        raise SourceError("the check's source field `name` must be a string")
    labels = _selector(spec.get("selector"), "selector")
    fields = _selector(spec.get("fieldSelector") or spec.get("field_selector"), "fieldSelector")
    if "cluster" not in ctx.capabilities:  # grading offline, or no cluster is up
        from grader.cluster import NO_CLUSTER

        raise NotGradable(NO_CLUSTER)
    try:
        state = load_state()
    except ClusterError as exc:
        raise SourceError(str(exc)) from exc
    if state is None:
        from grader.cluster import NO_CLUSTER

        raise NotGradable(NO_CLUSTER)
    namespace = spec.get("namespace")
    if namespace is None:
        namespace = namespace_for(state, ctx.lab_dir.name, _learner(ctx))
    all_namespaces = namespace in ("*", "")
    try:
        dyn = kc.dynamic_client(state.kubeconfig, state.context)
        resource = _resource(dyn, kind, api_version)
        kwargs: dict[str, Any] = {"_request_timeout": kc.REQUEST_TIMEOUT}
        if resource.namespaced and not all_namespaces:
            kwargs["namespace"] = namespace
        where = f" in namespace {namespace!r}" if "namespace" in kwargs else ""
        if name:
            try:
                obj = kc.call(lambda: resource.get(name=name, **kwargs), f"read {kind} {name}", dyn)
            except NotFound as exc:
                raise ObjectMissing(f"no {resource.kind} named {name!r}{where}") from exc
            return clean(obj.to_dict())
        if labels:
            kwargs["label_selector"] = labels
        if fields:
            kwargs["field_selector"] = fields
        listed = kc.call(lambda: resource.get(**kwargs), f"list {resource.name}", dyn)
        items = [clean(item) for item in listed.to_dict().get("items") or []]
        return {"items": items, "count": len(items)}
    except SourceError:
        raise
    except ClusterError as exc:
        raise SourceError(str(exc)) from exc


# -- manifests -----------------------------------------------------------------------------
def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found = sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in MANIFEST_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if len(found) > MAX_MANIFEST_FILES:
        raise SourceError(f"more than {MAX_MANIFEST_FILES} manifest files under the folder")
    return found


def parse_manifests(root: Path, ctx: SourceContext | None = None) -> dict[str, Any]:
    """Every Kubernetes object in the YAML/JSON files at ``root`` (a folder or a file).

    Returns ``{items, count, files, skipped}``; ``kind: List`` documents are flattened and
    documents that are not objects (no ``kind``) are listed in ``skipped``.
    """
    import yaml

    def show(p: Path) -> str:
        return display(p, ctx) if ctx is not None else str(p)

    items: list[dict[str, Any]] = []
    files: list[str] = []
    skipped: list[str] = []
    for file in _files(root):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read {show(file)}: {exc}") from exc
        try:
            docs = list(yaml.safe_load_all(text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SourceError(f"{show(file)}{where}: not valid YAML ({problem})") from exc
        files.append(show(file))
        for index, doc in enumerate(docs):
            if doc is None:
                continue
            if isinstance(doc, dict) and doc.get("kind") == "List":
                members = doc.get("items") or []
            else:
                members = [doc]
            for member in members:
                if isinstance(member, dict) and isinstance(member.get("kind"), str):
                    items.append(member)
                else:
                    skipped.append(f"{show(file)}#{index + 1}")
    return {"items": items, "count": len(items), "files": files, "skipped": skipped}


def load_manifests(spec: dict[str, Any], ctx: SourceContext) -> Any:
    """Objects from the workspace's manifests, filtered by ``kind``, ``apiVersion``,
    ``name``, ``namespace`` and ``selector``; one object when ``name`` is given."""
    path = require(spec, "path")
    root = resolve(path, ctx)
    if not root.exists():
        raise SourceError(f"{path} does not exist in the workspace")
    document = parse_manifests(root, ctx)
    kind = spec.get("kind")
    api_version = spec.get("apiVersion")
    name = spec.get("name")
    namespace = spec.get("namespace")
    labels = _selector(spec.get("selector"), "selector")

    def keep(obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        return (
            (kind is None or str(obj.get("kind", "")).lower() == str(kind).lower())
            and (api_version is None or obj.get("apiVersion") == api_version)
            and (name is None or meta.get("name") == name)
            and (namespace in (None, "*") or meta.get("namespace") == namespace)
            and _labels_match(obj, labels)
        )

    items = [obj for obj in document["items"] if keep(obj)]
    if name is not None:
        if not items:
            found = ", ".join(
                f"{o.get('kind')} {(o.get('metadata') or {}).get('name')}"
                for o in document["items"][:10]
            )
            raise SourceError(
                f"no {kind or 'object'} named {name!r} in {path}"
                + (f" (found: {found})" if found else " (no Kubernetes objects found)")
            )
        return items[0]
    return {**document, "items": items, "count": len(items)}
