"""The cost of the controls on the decision path, measured in one run (docs/controls.md):

- baseline: deciding and storing applications with no sealer running (measured before and after) (the hot path still numbers
  each row and MACs its content: that is part of every decision now),
- sealing: the same with a sealer sealing every 50 ms in a thread of the same process (a worker's
  background sealing, ten to forty times more often than the default interval),
- the integrity work alone: the content hash and MAC of a stored row (what verify does per entry;
  the hot path hashes the result and trace texts it already has, without serialising them again),
- sealing alone: how long `seal()` takes per entry.

    python bench/controls.py [--decisions 400] [--database-url URL]

Without --database-url (or DATABASE_URL) it runs on a temporary SQLite file; with a PostgreSQL URL
it recreates a database named `<its name>_controls_bench` beside it.
"""
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:] = [str(REPO), str(REPO / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

POLICY = "zhishandai.application"


def database(url):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    if not url:
        return f"sqlite:///{tempfile.mkdtemp(prefix='firefly-controls-')}/bench.db"
    parsed = make_url(url)
    name = f"{parsed.database}_controls_bench"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def decide_all(services, bodies, tag=None):
    """Seconds per decision through the use case (bench/velocity.py too); `tag` keeps one run's
    idempotency keys apart from another's on the same database."""
    from app.services.access import Principal
    from app.services.deciding import DecisionRequest
    caller = Principal("bench", "channel")
    prefix = "bench-" if tag is None else f"bench-{tag}-"
    times = []
    for n, body in enumerate(bodies):
        started = time.perf_counter()
        services.deciding.decide(DecisionRequest(POLICY, body, caller, f"{prefix}{n}"))
        times.append(time.perf_counter() - started)
    return times


def row(name, times, baseline=None):
    mean = statistics.fmean(times) * 1000
    p99 = sorted(times)[int(len(times) * 0.99) - 1] * 1000
    ratio = f"{mean / baseline:.2f}x" if baseline else "1.00x"
    return f"| {name:<44} | {mean:8.3f} | {p99:8.3f} | {ratio:>6} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=400)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()

    from app.services import build
    from app.storage import chain
    from app.storage.migrate import upgrade
    from app.storage.models import Decision
    from support.applicants import applicants
    from support.settings import make_settings

    url = database(args.database_url)
    upgrade(url)
    services = build(make_settings(url, None, FIREFLY_SEAL_INTERVAL=0))
    bodies = applicants(services.registry.served(POLICY), args.decisions)
    decide_all(services, bodies[:20])  # warm up: compiled policy, connections
    services.audit_log.seal()

    baseline = decide_all(services, bodies)
    started = time.perf_counter()
    sealed = services.audit_log.seal("decisions")
    seal_seconds = time.perf_counter() - started

    services.audit_log.start(0.05)
    with_sealer = decide_all(services, bodies)
    services.audit_log.stop()
    services.audit_log.seal()
    again = decide_all(services, bodies)  # the baseline again: the table has grown meanwhile

    with services.database.session() as session:
        rows = session.query(Decision).limit(200).all()
    integrity = []
    for stored in rows:
        started = time.perf_counter()
        services.personal.mac(chain.decision_content_hash(stored))
        integrity.append(time.perf_counter() - started)
    services.close()

    base = statistics.fmean(baseline) * 1000
    print(f"Decision path with the controls, {args.decisions} decisions each, on {url.split(':')[0]}")
    print("| measure                                      |  mean ms |   p99 ms |  ratio |")
    print("|----------------------------------------------|----------|----------|--------|")
    print(row("decide + store, no sealer (baseline)", baseline))
    print(row("decide + store, sealer every 50 ms", with_sealer, base))
    print(row("decide + store, no sealer (again, after)", again, base))
    print(row("content hash + MAC of a stored row (verify)", integrity, base))
    print(row("sealing, per entry (seal() / entries)", [seal_seconds / max(sealed, 1)] * 2, base))


if __name__ == "__main__":
    main()
