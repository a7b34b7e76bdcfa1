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
