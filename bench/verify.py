"""The audit log's verify on a long log: seconds and peak memory, against the log's length.

    python bench/verify.py [--decisions 2000 8000] [--database-url URL]

For each length, makes a fresh database (SQLite in a temporary folder unless --database-url names
a PostgreSQL server's database, which is recreated), decides that many generated applications
through the deciding use case, seals them, then runs `verify` of the whole decisions log in a new
process and reports its wall time and peak resident memory (ru_maxrss), with the same process
only loading the services as the baseline (so the figure is what verifying added).
"""
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:] = [str(REPO), str(REPO / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

CHILD = """
import json, resource, sys, time
sys.path[:0] = [{repo!r}, {tests!r}]
from app.services import build
from support.settings import make_settings
services = build(make_settings({url!r}, None))
began = time.perf_counter()
result = services.audit_log.verify("decisions") if {verify!r} else None
seconds = time.perf_counter() - began
services.close()
print(json.dumps({{"seconds": seconds, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "checked": result.checked if result else 0, "ok": result.ok if result else None}}))
"""


def measure(url, verify):
    code = CHILD.format(repo=str(REPO), tests=str(REPO / "tests"), url=url, verify=verify)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fill(url, decisions):
    from sqlalchemy import create_engine, text

    from app.services import build
    from app.services.access import Principal
    from app.services.deciding import DecisionRequest
    from app.storage.migrate import upgrade
    from support.applicants import generate, generate_shared  # noqa: F401  the tests' generator
    from support.http import POLICY
    from support.settings import make_settings

    if not url.startswith("sqlite"):
        server, name = url.rsplit("/", 1)
        engine = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    upgrade(url)
    services = build(make_settings(url, None))
    channel = Principal("bench-channel", "channel")
    for n, body in enumerate(generate(decisions, seed=5)):
        services.deciding.decide(DecisionRequest(POLICY, body, channel, f"bench-{n}"))
    sealed = services.audit_log.seal("decisions")
    services.close()
    return sealed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, nargs="+", default=[2000, 8000])
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL database to recreate (default: SQLite in a temporary folder)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="firefly-verify-") as folder:
        for count in args.decisions:
            url = args.database_url or f"sqlite:///{folder}/verify-{count}.db"
            began = time.perf_counter()
            sealed = fill(url, count)
            filled = time.perf_counter() - began
            base = measure(url, False)
            run = measure(url, True)
            rows.append({"decisions": count, "sealed": sealed, "fill_seconds": round(filled, 1),
                         "verify_seconds": round(run["seconds"], 2), "checked": run["checked"], "ok": run["ok"],
                         "baseline_rss_mb": round(base["max_rss_mb"], 1), "verify_rss_mb": round(run["max_rss_mb"], 1),
                         "added_mb": round(run["max_rss_mb"] - base["max_rss_mb"], 1)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'decisions':>9} {'checked':>8} {'ok':>5} {'verify s':>9} {'peak MB':>8} {'baseline MB':>12} {'added MB':>9}")
    for r in rows:
        print(f"{r['decisions']:>9} {r['checked']:>8} {str(r['ok']):>5} {r['verify_seconds']:>9} "
              f"{r['verify_rss_mb']:>8} {r['baseline_rss_mb']:>12} {r['added_mb']:>9}")


if __name__ == "__main__":
    main()
