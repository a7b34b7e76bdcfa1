"""Firefly's decision engine: a pure package (no Flask, database or Redis imports).

The public surface, used by the API, the CLI, the benchmarks and the tests:

    from app.engine import load_policy_root, load_policy_files

    loaded = load_policy_root("path/to/root")     # a folder holding policies/ and rules/
    loaded.diagnostics, loaded.errors, loaded.ok   # every problem, each with file:line:column
    policy = loaded.policies["zhishandai.application"]

    policy.name, policy.version, policy.hash       # the hash covers every file the policy uses
    policy.engine                                  # its backend: one of BACKENDS
    policy.ref                                     # PolicyRef(name, version, hash, engine)
    policy.files                                   # {relative path: text} of those files (for storage)
    policy.input_schema.fields                     # {path: FieldSpec} of the declared input
    policy.pii_fields()                            # {path: personal data kind}
    policy.request_schema()                        # the marshmallow schema of the input
    typed = policy.parse_input(request_json)       # raises InputError(errors={path: [messages]})
    decision = policy.decide(typed, backend=None)  # a Decision; decision.trace is its Trace

    decision.policy                                # the PolicyRef that decided; .backend the backend
    decision.outcome, .limit, .customer_group, .score, .score_band   # outcome one of OUTCOMES
    decision.reasons, .reason_codes, .hits, .outputs
    decision.headline()                            # {HEADLINE field: value}, reasons as codes
    decision.to_dict(); decision.trace.to_dict()   # JSON-ready, deterministic, personal data masked
    decision.trace.matched(), .hits(), .unmet(), .shown(path)   # unmet: data requirements
    policy.parts.requirements                      # what an automatic APPROVE needs (requires:)
    canonical_json(obj)                            # byte-identical serialisation of those dicts

    load_policy_files("zhishandai.application", files)   # rebuild a stored version from its files
    load_policies(files, engine=None, root="")     # every policy of a root's files, already read
    read_policy_root(root); build_policies(files, engine=None)  # the files, and the lower level

    app.engine.privacy: mask(kind, value), PII_KINDS, SEARCHABLE_KINDS
    app.engine.testing: load_cases, read_test_files, run_policy_tests, run_case,
                        backend_disagreements
"""
from __future__ import annotations

from .backends import BACKENDS
from .decision import HEADLINE, Decision, PolicyRef, Reason, Trace, canonical_json
from .errors import Diagnostic, InputError, Location, PolicyError, SharedValueError
from .loading import LoadResult, load_policies, load_policy_files, load_policy_root, read_policy_root
from .model import OUTCOMES
from .policy import Policy
from .read.policy import build_policies

__all__ = ["BACKENDS", "Decision", "Diagnostic", "HEADLINE", "InputError", "SharedValueError", "LoadResult",
           "Location", "OUTCOMES", "Policy", "PolicyError", "PolicyRef", "Reason", "Trace",
           "build_policies", "canonical_json", "load_policies", "load_policy_files", "load_policy_root",
           "read_policy_root"]
