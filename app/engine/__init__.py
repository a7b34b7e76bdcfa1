"""Firefly's decision engine: a pure package (no Flask, database or Redis imports).

The public surface, used by the API, the CLI, the benchmarks and the tests:

    from app.engine import load_policy_root, load_policy_files

    loaded = load_policy_root("path/to/root")     # a folder holding policies/ and rules/
    loaded.diagnostics                             # every problem, each with file:line:column
    loaded.ok                                      # no error-severity diagnostics
    policy = loaded.policies["zhishandai.application"]

    policy.name, policy.version, policy.hash       # the hash covers every file the policy uses
    policy.files                                   # {relative path: text} of those files (for storage)
    policy.input_schema                            # the declared input (InputSchema)
    typed = policy.parse_input(request_json)       # raises InputError(errors={path: [messages]})
    decision = policy.decide(typed)                # a Decision; decision.trace is its Trace
    decision.to_dict(); decision.trace.to_dict()   # JSON-ready, deterministic
    canonical_json(obj)                            # byte-identical serialisation of those dicts

    load_policy_files("zhishandai.application", files)   # rebuild a stored version from its files
"""
from __future__ import annotations

from pathlib import Path

from .decision import Decision, Reason, Trace, canonical_json
from .errors import Diagnostic, InputError, Location, PolicyError
from .loader import build_policies
from .policy import BACKENDS, Policy

__all__ = ["BACKENDS", "Decision", "Diagnostic", "InputError", "LoadResult", "Location", "Policy",
           "PolicyError", "Reason", "Trace", "canonical_json", "load_policy_files",
           "load_policy_root", "read_policy_root"]


class LoadResult:
    """The policies of a root that loaded, and every diagnostic found."""

    def __init__(self, policies: dict[str, Policy], diagnostics: list[Diagnostic], root: str):
        self.policies = policies
        self.diagnostics = diagnostics
        self.root = root

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def read_policy_root(root: str | Path) -> dict[str, str]:
    """{relative path: text} of every YAML file under root/policies and root/rules, except rule
    tests (which are not part of any policy version)."""
    base = Path(root)
    files = {}
    for folder in ("policies", "rules"):
        for path in sorted((base / folder).rglob("*.y*ml")):
            relative = path.relative_to(base).as_posix()
            if folder == "policies" and "/tests/" in relative:
                continue
            files[relative] = path.read_text(encoding="utf-8")
    return files


def load_policy_root(root: str | Path, engine: str | None = None) -> LoadResult:
    """Load and validate every policy under a root holding policies/ and rules/. `engine`
    (compiled or durable) overrides the backend the policies name."""
    files = read_policy_root(root)
    if not files:
        missing = Diagnostic("ROOT_EMPTY", f"no YAML files under {root}/policies or {root}/rules",
                             Location(str(root)))
        return LoadResult({}, [missing], str(root))
    parts, diagnostics = build_policies(files, engine)
    if any(d.severity == "error" for d in diagnostics):
        # A root with any error serves nothing: half a set of policies is not a version.
        return LoadResult({}, diagnostics, str(root))
    return LoadResult({name: Policy(p) for name, p in parts.items()}, diagnostics, str(root))


def load_policy_files(name: str, files: dict[str, str], engine: str | None = None) -> Policy:
    """Rebuild one stored policy version from its files; raises PolicyError if it cannot."""
    parts, diagnostics = build_policies(dict(files), engine)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise PolicyError(errors)
    if name not in parts:
        raise PolicyError([Diagnostic("POLICY_MISSING", f"the files hold no policy '{name}'")])
    return Policy(parts[name])
