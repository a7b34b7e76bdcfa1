"""Reading the files of a policy root: every YAML document parsed and indexed by kind and name,
and the content hash of a policy version."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from ..errors import Diagnostic
from ..source import Node, parse_yaml
from .personal_literals import personal_literals

KINDS = ("policy", "ruleset", "table", "scorecard", "list", "reason_codes")
_POLICY_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass
class Document:
    kind: str
    name: str
    node: Node
    file: str


@dataclass
class Catalogue:
    """Every document of a policy root, indexed by kind and name."""

    documents: dict[tuple[str, str], Document] = field(default_factory=dict)
    policies: list[Document] = field(default_factory=list)


def policy_hash(files: dict[str, str], version: str) -> str:
    """The content hash of a policy version: every file it uses, plus its version string."""
    digest = hashlib.sha256()
    digest.update(f"version\0{version}\0".encode())
    for path in sorted(files):
        digest.update(f"{path}\0{len(files[path].encode())}\0".encode())
        digest.update(files[path].encode())
    return digest.hexdigest()


def read_documents(files: dict[str, str], diagnostics: list[Diagnostic]) -> Catalogue:
    """Parse every file and index its document by kind and name."""
    catalogue = Catalogue()
    for path in sorted(files):
        node, problems = parse_yaml(files[path], path)
        diagnostics.extend(problems)
        if node is None:
            continue
        personal_literals(node, diagnostics)
        document = _document(node, path, diagnostics)
        if document is not None:
            _index(document, catalogue, diagnostics)
    return catalogue


def _document(node: Node, path: str, diagnostics: list[Diagnostic]) -> Document | None:
    """The document a file holds: its kind (the one kind key it starts with) and name."""
    if not node.is_map:
        diagnostics.append(Diagnostic("DOC_SHAPE", "a rule file must be a mapping that starts "
                                      f"with one of: {', '.join(KINDS)}", node.location))
        return None
    kinds = [k for k in KINDS if k in node.value]
    if len(kinds) != 1:
        message = (f"the file must say what it is with exactly one of: {', '.join(KINDS)}"
                   if not kinds else f"the file declares several kinds: {', '.join(kinds)}")
        diagnostics.append(Diagnostic("DOC_KIND", message, node.location))
        return None
    kind = kinds[0]
    name_node = node.get(kind)
    if kind == "reason_codes":
        name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    elif not isinstance(name_node.value, str) or not name_node.value:
        diagnostics.append(Diagnostic("DOC_NAME", f"'{kind}' needs a name", name_node.location))
        return None
    else:
        name = name_node.value
    return Document(kind, name, node, path)


def _index(document: Document, catalogue: Catalogue, diagnostics: list[Diagnostic]) -> None:
    kind, name = document.kind, document.name
    name_node = document.node.get(kind)
    if kind == "policy":
        if not _POLICY_NAME.match(name):
            diagnostics.append(Diagnostic("POLICY_NAME", f"policy name '{name}' must be "
                                          "<product>.<flow> in lower case, e.g. "
                                          "zhishandai.application", name_node.location))
        if any(p.name == name for p in catalogue.policies):
            diagnostics.append(Diagnostic("DOC_DUPLICATE", f"policy '{name}' is defined twice",
                                          name_node.location))
            return
        catalogue.policies.append(document)
        return
    key = (kind, name)
    if key in catalogue.documents:
        other = catalogue.documents[key].file
        diagnostics.append(Diagnostic("DOC_DUPLICATE", f"{kind} '{name}' is also defined in "
                                      f"{other}", name_node.location if name_node else None))
        return
    catalogue.documents[key] = document
