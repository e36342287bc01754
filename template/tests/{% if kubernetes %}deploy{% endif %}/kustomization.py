"""Build a kustomization as kustomize does, for the part of kustomize deploy/k8s uses.

The deployments run `kubectl apply -k` (kustomize). The tests build the overlays with this
module instead, so that they run where no kustomize is installed, and compare both builds
where kubectl is (tests/deploy/test_kubernetes.py). It knows the fields of a Kustomization
that deploy/k8s uses: `resources` (files and directories), JSON 6902 `patches` with a
kind and name target, `namespace` and `images`, applied in kustomize's order. Anything
else is refused with `UnsupportedKustomizationError`, so an overlay never builds one way
here and another way in kustomize: extend this module along with the manifests.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

KNOWN_FIELDS = frozenset({"apiVersion", "kind", "resources", "patches", "namespace", "images"})
KNOWN_TARGET_FIELDS = frozenset({"kind", "name"})
KNOWN_IMAGE_FIELDS = frozenset({"name", "newName", "newTag"})
KNOWN_OPERATIONS = frozenset({"add", "replace", "remove"})
# Kinds that live in a namespace: `namespace` moves each of them there. A cluster-wide
# kind (Namespace, ClusterRole, ...) would need kustomize's other rules: refused.
NAMESPACED_KINDS = frozenset(
    {
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Job",
        "PodDisruptionBudget",
        "Secret",
        "Service",
    }
)


class UnsupportedKustomizationError(ValueError):
    """A kustomization uses something this module does not build like kustomize."""


def load_documents(path: Path) -> list[Manifest]:
    """The objects of a YAML file (one or more documents separated by `---`)."""
    with path.open(encoding="utf-8") as stream:
        return [document for document in yaml.safe_load_all(stream) if document is not None]


def build(directory: Path) -> list[Manifest]:
    """What `kubectl kustomize DIRECTORY` prints, as objects (in no particular order)."""
    kustomization = load_documents(directory / "kustomization.yaml")[0]
    _refuse_unknown(kustomization, KNOWN_FIELDS, f"{directory}/kustomization.yaml")
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        manifests += build(path) if path.is_dir() else load_documents(path)
    for manifest in manifests:
        if manifest["kind"] not in NAMESPACED_KINDS:
            msg = f"{manifest['kind']} is not a kind this module builds like kustomize"
            raise UnsupportedKustomizationError(msg)
    for patch in kustomization.get("patches", []):
        _apply_patch(manifests, patch)
    if "namespace" in kustomization:
        for manifest in manifests:
            manifest["metadata"]["namespace"] = kustomization["namespace"]
    for image in kustomization.get("images", []):
        _refuse_unknown(image, KNOWN_IMAGE_FIELDS, f"image {image}")
        for container in _containers(manifests):
            container["image"] = _new_image(container["image"], image)
    return manifests


def _refuse_unknown(mapping: Manifest, known: frozenset[str], where: str) -> None:
    unknown = set(mapping) - known
    if unknown:
        msg = f"{where}: {sorted(unknown)} are not built by tests/deploy/kustomization.py"
        raise UnsupportedKustomizationError(msg)


def _apply_patch(manifests: list[Manifest], patch: Manifest) -> None:
    _refuse_unknown(patch, frozenset({"target", "patch"}), f"patch {patch}")
    target = patch["target"]
    _refuse_unknown(target, KNOWN_TARGET_FIELDS, f"patch target {target}")
    matches = [
        manifest
        for manifest in manifests
        if manifest["kind"] == target["kind"] and manifest["metadata"]["name"] == target["name"]
    ]
    if not matches:
        msg = f"the patch target {target} matches no object"
        raise UnsupportedKustomizationError(msg)
    for operation in yaml.safe_load(patch["patch"]):
        for manifest in matches:
            _apply_operation(manifest, operation)


def _apply_operation(document: Manifest, operation: Manifest) -> None:
    """One RFC 6902 operation (add, replace, remove) on `document`, in place."""
    if operation["op"] not in KNOWN_OPERATIONS:
        msg = f"the patch operation {operation['op']!r} is not built here"
        raise UnsupportedKustomizationError(msg)
    # RFC 6901: "~1" stands for "/" and "~0" for "~" in a path segment.
    *parents, last = (
        token.replace("~1", "/").replace("~0", "~") for token in operation["path"].split("/")[1:]
    )
    parent: Any = document
    for token in parents:
        parent = parent[int(token)] if isinstance(parent, list) else parent[token]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if operation["op"] == "add":
            parent.insert(index, operation["value"])
        elif operation["op"] == "replace":
            parent[index] = operation["value"]
        else:
            del parent[index]
        return
    if operation["op"] != "add" and last not in parent:
        msg = f"{operation['op']} {operation['path']}: no such field"
        raise KeyError(msg)
    if operation["op"] == "remove":
        del parent[last]
    else:
        parent[last] = operation["value"]


def _containers(manifests: list[Manifest]) -> Iterator[Manifest]:
    for manifest in manifests:
        pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
        yield from pod.get("initContainers", [])
        yield from pod.get("containers", [])


def _new_image(reference: str, image: Manifest) -> str:
    """`reference` with the name and tag an `images` entry gives, when it names it."""
    # The tag follows the last ":" after the last "/" (a registry may have a port).
    colon = reference.rfind(":")
    name, tag = (
        (reference[:colon], reference[colon + 1 :])
        if colon > reference.rfind("/")
        else (reference, "")
    )
    if "@" in reference or name != image["name"]:
        return reference
    new_name = image.get("newName", name)
    new_tag = image.get("newTag", tag)
    return f"{new_name}:{new_tag}" if new_tag else new_name
