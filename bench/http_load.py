"""HTTP benchmark: gunicorn (2 workers) on PostgreSQL, concurrent clients posting generated
applications, against a floor endpoint that parses the same body and inserts one row of the same
size, measured in the same run.

    python bench/http_load.py [--duration 20] [--clients 16] [--json]

Prints a table (requests/s, p50/p99 latency, errors, stored rows vs 201 answers) and the ratio of
decision throughput to the floor's. It uses its own database (firefly_bench, recreated each run).
"""
import sys
from pathlib import Path

# Named http_load.py, not http.py, so that it never shadows the standard library module.
BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:] = [str(REPO), str(REPO / "tests")] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

POLICY = "zhishandai.application"
KEY = "bench-channel-key-0123456789"
SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def recreate_database(server_url, name):
    from sqlalchemy import create_engine, text
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def count_rows(url, table):
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return count


def decision_row_bytes(bodies):
    """The average size of what a decision row stores beyond the input (result and trace)."""
    from app.engine import canonical_json, load_policy_root
    policy = load_policy_root(REPO).policies[POLICY]
    sizes = []
    for body in bodies[:300]:
        decision = policy.decide(policy.parse_input(body))
        sizes.append(len(canonical_json(decision.to_dict())) + len(canonical_json(decision.trace.to_dict())))
    return int(statistics.mean(sizes))


def client_loop(args):
    """One client: post bodies until the deadline; returns [(seconds, status)]."""
    port, path, payloads, start_at, stop_at = args
    results = []
    while time.time() < start_at:
        time.sleep(0.001)
    i = 0
    while time.time() < stop_at:
        body = payloads[i % len(payloads)]
        i += 1
        began = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json", "X-API-Key": KEY})
            status = conn.getresponse().status
            conn.close()
        except OSError:
            status = 0
        results.append((time.perf_counter() - began, status))
    return results


PARTS = ("service", "postgres", "redis", "clients", "other")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(service_pid):
    """CPU seconds (user + system) spent so far by each part of the machine, read from /proc.

    The service is the gunicorn master and its workers; the clients are this process and its pool.
    Processes that end between two readings take their time with them (the pool and the service's
    workers live through a run; PostgreSQL's backends through the service's pool)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            comm = text[text.index("(") + 1:text.rindex(")")]
            fields = text[text.rindex(")") + 2:].split()
            stats[int(entry.name)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    parents = {pid: ppid for pid, (_, ppid, _) in stats.items()}

    def under(pid, root):
        while pid > 1:
            if pid == root:
                return True
            pid = parents.get(pid, 0)
        return False

    totals = dict.fromkeys(PARTS, 0.0)
    for pid, (comm, _, seconds) in stats.items():
        if under(pid, service_pid):
            part = "service"
        elif under(pid, os.getpid()):
            part = "clients"
        elif comm.startswith("postgres"):
            part = "postgres"
        elif comm.startswith("redis-server"):
            part = "redis"
        else:
            part = "other"
        totals[part] += seconds
    return totals


def run_phase(pool, port, path, payloads, clients, seconds, service_pid=None, cpu=None):
    """All clients on one endpoint for `seconds`: [(latency, status)]; adds the CPU seconds each
    part of the machine spent during the phase to `cpu`."""
    start_at = time.time() + 0.3
    chunks = [payloads[i::clients] for i in range(clients)]
    jobs = [(port, path, chunk, start_at, start_at + seconds) for chunk in chunks]
    before = cpu_seconds(service_pid) if cpu is not None else None
    results = [item for chunk in pool.map(client_loop, jobs) for item in chunk]
    if cpu is not None:
        after = cpu_seconds(service_pid)
        for part in PARTS:
            cpu[part] = cpu.get(part, 0.0) + after[part] - before[part]
    return results


def summary(results, seconds):
    latencies = sorted(latency for latency, _ in results)
    ok = sum(1 for _, status in results if status == 201)
    return {"requests": len(results), "created": ok, "errors": len(results) - ok,
            "per_second": len(results) / seconds,
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


def start_gunicorn(url, port, workers, pad, logdir, redis_url=None):
    env = {**os.environ, "DATABASE_URL": url, "FIREFLY_API_KEYS": f"bench:channel:{KEY}",
           "FIREFLY_WORKERS": str(workers), "FIREFLY_BIND": f"127.0.0.1:{port}", "FIREFLY_FLOOR_ENDPOINT": "1",
           "FIREFLY_FLOOR_PAD_BYTES": str(pad), "PROMETHEUS_MULTIPROC_DIR": str(logdir / "metrics"),
           "FIREFLY_ACCESS_LOG": str(logdir / "access.log"), "FIREFLY_LOG_LEVEL": "warning"}
    env.pop("REDIS_URL", None)
    if redis_url:  # the anti-fraud counters (and idempotency keys) in Redis; else in each worker
        env["REDIS_URL"] = redis_url
    (logdir / "metrics").mkdir()
    log = open(logdir / "gunicorn.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                               cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            pass
        if process.poll() is not None:
            sys.exit((logdir / "gunicorn.log").read_text())
        time.sleep(0.1)
    process.kill()
    sys.exit("gunicorn did not become ready")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per endpoint (>= 20 for figures)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the two endpoints")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--applicants", type=int, default=5000)
    parser.add_argument("--server-url", default=SERVER_URL, help="PostgreSQL server (any database)")
    parser.add_argument("--database-name", default="firefly_bench",
                        help="the database the run recreates (one per person sharing a server)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--redis-url", default=None,
                        help="serve with REDIS_URL (anti-fraud counters in Redis; its firefly:shared:* keys are "
                             "removed afterwards); without it the counters live in each worker")
    parser.add_argument("--parts", action="store_true",
                        help="after the run, measure alone in this process each part a decision does that the "
                             "floor does not (bench/http_cpu.py decision_parts), against the CPU the ratio 0.8 "
                             "leaves a decision beyond a floor request")
    args = parser.parse_args()

    from app.storage.migrate import upgrade
    from support.applicants import generate  # the tests' one applicant generator
    bodies = generate(args.applicants, seed=42)
    payloads = [json.dumps(body, ensure_ascii=False).encode("utf-8") for body in bodies]
    pad = decision_row_bytes(bodies)
    url = recreate_database(args.server_url, args.database_name)
    upgrade(url)
    logdir = Path(tempfile.mkdtemp(prefix="firefly-bench-"))
    process = start_gunicorn(url, args.port, args.workers, pad, logdir, args.redis_url)
    try:
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            run_phase(pool, args.port, f"/v1/decisions/{POLICY}", payloads, args.clients, 2)   # warm-up
            run_phase(pool, args.port, f"/bench/floor/{POLICY}", payloads, args.clients, 2)
            warm = (count_rows(url, "decisions"), count_rows(url, "bench_floor"))
            # Interleaved rounds, so that any other load on the machine falls on both endpoints alike.
            decided, floored = [], []
            decided_cpu, floored_cpu = {}, {}
            for _ in range(args.rounds):
                decided += run_phase(pool, args.port, f"/v1/decisions/{POLICY}", payloads, args.clients,
                                     args.duration / args.rounds, process.pid, decided_cpu)
                floored += run_phase(pool, args.port, f"/bench/floor/{POLICY}", payloads, args.clients,
                                     args.duration / args.rounds, process.pid, floored_cpu)
            decide, floor = summary(decided, args.duration), summary(floored, args.duration)
            # CPU milliseconds per answered request, by part of the machine: where a request's
            # cost goes, whatever else shares the machine's cores.
            for phase, cpu in ((decide, decided_cpu), (floor, floored_cpu)):
                phase["cpu_ms_per_request"] = {part: 1000 * cpu[part] / max(phase["requests"], 1) for part in PARTS}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    decide["rows"] = count_rows(url, "decisions") - warm[0]
    floor["rows"] = count_rows(url, "bench_floor") - warm[1]
    threads = int(os.environ.get("FIREFLY_THREADS", "4"))
    report = {"workers": args.workers, "threads": threads, "clients": args.clients, "seconds": args.duration, "row_pad_bytes": pad,
              "decisions": decide, "floor": floor, "ratio": decide["per_second"] / floor["per_second"]}
    shutil.rmtree(logdir, ignore_errors=True)
    if args.redis_url:
        import redis
        client = redis.Redis.from_url(args.redis_url)
        keys = list(client.scan_iter("firefly:shared:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    report["shared_state"] = "redis" if args.redis_url else "in-process"
    if args.parts:
        floor_total = sum(floor["cpu_ms_per_request"].values())
        # decisions / floor >= 0.8 when a decision costs the machine at most floor / 0.8
        report["budget_ms"] = floor_total / 0.8 - floor_total
        report["parts_ms"] = measure_parts(url, pad, payloads, args.redis_url)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"gunicorn {args.workers} workers x {threads} threads, PostgreSQL, {args.clients} clients, {args.duration:.0f} s per endpoint, "
          f"floor row padded to {pad} bytes, anti-fraud counters {report['shared_state']}")
    print(f"{'endpoint':<10} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
          f"{'rows':>7} {'rows=201':>9}")
    for name, phase in (("decisions", decide), ("floor", floor)):
        print(f"{name:<10} {phase['requests']:>9} {phase['per_second']:>8.1f} {phase['p50_ms']:>8.1f} "
              f"{phase['p99_ms']:>8.1f} {phase['errors']:>7} {phase['rows']:>7} "
              f"{str(phase['rows'] == phase['created']):>9}")
    print(f"decisions / floor throughput: {report['ratio']:.2f}")
    print()
    print("CPU ms per request, by part of the machine (user + system, from /proc)")
    print(f"{'endpoint':<10} " + " ".join(f"{part:>9}" for part in PARTS) + f" {'total':>9}")
    for name, phase in (("decisions", decide), ("floor", floor)):
        cpu = phase["cpu_ms_per_request"]
        print(f"{name:<10} " + " ".join(f"{cpu[part]:>9.2f}" for part in PARTS) + f" {sum(cpu.values()):>9.2f}")
    if args.parts:
        print()
        http_cpu().print_parts(report["parts_ms"], report["budget_ms"])


def http_cpu():
    """bench/http_cpu.py as a module (bench/ stays off sys.path)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("http_cpu", BENCH / "http_cpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure_parts(url, pad, payloads, redis_url):
    """decision_parts on the app as a worker builds it, on the run's database and Redis."""
    os.environ.pop("REDIS_URL", None)
    os.environ.update({"DATABASE_URL": url, "FIREFLY_API_KEYS": f"bench:channel:{KEY}",
                       "FIREFLY_FLOOR_ENDPOINT": "1", "FIREFLY_FLOOR_PAD_BYTES": str(pad),
                       "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="firefly-parts-")})
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    from app import create_app
    app = create_app()
    try:
        return http_cpu().decision_parts(app, payloads)
    finally:
        if redis_url:
            import redis
            client = redis.Redis.from_url(redis_url)
            keys = list(client.scan_iter("firefly:shared:*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


if __name__ == "__main__":
    main()
