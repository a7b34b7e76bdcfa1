"""Loading policies: every policy of a root folder, or one stored policy version from its files."""
from __future__ import annotations

from pathlib import Path

from .errors import ERROR, Diagnostic, Location, PolicyError
from .policy import Policy
from .read.policy import build_policies


class LoadResult:
    """The policies of a root that loaded, and every diagnostic found."""

    def __init__(self, policies: dict[str, Policy], diagnostics: list[Diagnostic], root: str):
        self.policies = policies
        self.diagnostics = diagnostics
        self.root = root

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors


def read_rule_file(path: Path, relative: str) -> str:
    """A rule file's text. One that is not UTF-8 (an editor saving in GBK, as Windows does for
    Chinese) raises a PolicyError located at its first undecodable byte, never UnicodeDecodeError."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[:error.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        raise PolicyError([Diagnostic(
            "FILE_ENCODING", f"the file is not UTF-8 text (byte 0x{data[error.start]:02x} here): save "
            "it as UTF-8 (in the editor's encoding menu; GBK or GB 2312 is not read)",
            Location(relative, line, column))]) from None


def read_policy_root(root: str | Path) -> dict[str, str]:
    """{relative path: text} of every YAML file under root/policies and root/rules, except rule
    tests (which are not part of any policy version). A file that is not UTF-8 raises PolicyError."""
    base = Path(root)
    files = {}
    for folder in ("policies", "rules"):
        for path in sorted((base / folder).rglob("*.y*ml")):
            relative = path.relative_to(base).as_posix()
            if folder == "policies" and "/tests/" in relative:
                continue
            files[relative] = read_rule_file(path, relative)
    return files


def load_policy_root(root: str | Path, engine: str | None = None) -> LoadResult:
    """Load and validate every policy under a root holding policies/ and rules/. `engine`
    (compiled or durable) overrides the backend the policies name."""
    try:
        files = read_policy_root(root)
    except PolicyError as error:
        return LoadResult({}, error.diagnostics, str(root))
    return load_policies(files, engine, root=str(root))


def load_policies(files: dict[str, str], engine: str | None = None, root: str = "") -> LoadResult:
    """Load and validate every policy in a root's files ({relative path: text}, as
    read_policy_root gives them); `root` names where they came from in diagnostics."""
    if not files:
        missing = Diagnostic("ROOT_EMPTY", f"no YAML files under {root}/policies or {root}/rules",
                             Location(str(root)))
        return LoadResult({}, [missing], str(root))
    parts, diagnostics = build_policies(files, engine)
    diagnostics += _unknown_challengers(parts)
    if any(d.severity == ERROR for d in diagnostics):
        # A root with any error serves nothing: half a set of policies is not a version.
        return LoadResult({}, diagnostics, str(root))
    return LoadResult({name: Policy(p) for name, p in parts.items()}, diagnostics, str(root))


def _unknown_challengers(parts: dict) -> list[Diagnostic]:
    """A challenger must be another policy of the root. Checked on a whole root only: a stored
    version holds just its own files, and is replayed without its challenger."""
    return [Diagnostic("CHALLENGER_POLICY", f"challenger: '{p.challenger.policy}' is not another "
                       "policy of this root", p.challenger.location)
            for p in parts.values()
            if p.challenger is not None and (p.challenger.policy not in parts
                                              or p.challenger.policy == p.name)]


def load_policy_files(name: str, files: dict[str, str], engine: str | None = None) -> Policy:
    """Rebuild one stored policy version from its files; raises PolicyError if it cannot."""
    parts, diagnostics = build_policies(dict(files), engine)
    errors = [d for d in diagnostics if d.severity == ERROR]
    if errors:
        raise PolicyError(errors)
    if name not in parts:
        raise PolicyError([Diagnostic("POLICY_MISSING", f"the files hold no policy '{name}'")])
    return Policy(parts[name])
