"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`. Every setting can be overridden by env."""
import multiprocessing
import os
import signal
import tempfile

bind = os.environ.get("FIREFLY_BIND", "127.0.0.1:8000")
# The anti-fraud counters live in Redis (REDIS_URL) or, without it, in the serving process: then one
# worker process (with its threads) by default, so that a burst from one device is counted whole,
# as `make run` needs; several would each count apart (said at start-up; production requires Redis).
workers = int(os.environ.get("FIREFLY_WORKERS",
                             multiprocessing.cpu_count() * 2 + 1 if os.environ.get("REDIS_URL") else 1))
# Threads overlap a worker's waits on the database; the engine itself is pure Python.
threads = int(os.environ.get("FIREFLY_THREADS", "4"))
# gthread with a deadline on reading a request body (app/api/server.py; FIREFLY_READ_TIMEOUT seconds).
worker_class = "app.api.server.TimedThreadWorker" if threads > 1 else "sync"
timeout = int(os.environ.get("FIREFLY_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
max_requests = 0
limit_request_line = 8190
# gunicorn's control socket lives at one path per user; several servers on one machine would share it.
control_socket_disable = os.environ.get("FIREFLY_CONTROL_SOCKET", "0") != "1"

# Metrics from every worker are gathered by prometheus_client's multiprocess mode.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="firefly-metrics-")

# JSON access log (built with json.dumps: no quote or newline in a path can break a line), the path
# without the query string (a search may carry an ID number); gunicorn's own rejections (431, bad
# framing) answer the API's JSON error envelope. Both in app/api/server.py.
accesslog = os.environ.get("FIREFLY_ACCESS_LOG", "-")
logger_class = "app.api.server.JsonLogger"
errorlog = "-"
loglevel = os.environ.get("FIREFLY_LOG_LEVEL", "info")
logconfig_dict = {
    "version": 1, "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"},
                   "raw": {"format": "%(message)s"}},
    "handlers": {"error": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
                 "access": {"class": "logging.StreamHandler", "formatter": "raw", "stream": "ext://sys.stdout"}},
    "loggers": {"gunicorn.error": {"handlers": ["error"], "level": "INFO", "propagate": False},
                "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
                "alembic.runtime.plugins": {"level": "WARNING"}},
    "root": {"handlers": ["error"], "level": "INFO"},
}


def when_ready(server):
    """SIGHUP to the master reloads the policies in every worker (validated, atomic) instead of
    restarting the workers: a broken policy folder is rejected and the old version keeps serving."""
    def forward_hup():
        server.log.info("SIGHUP: asking every worker to reload its policies")
        for pid in list(server.WORKERS):
            os.kill(pid, signal.SIGHUP)
    server.handle_hup = forward_hup


def post_worker_init(worker):
    """Each worker reloads its policies on SIGHUP; a reload via the API asks the master to fan out."""
    from app.extensions import services

    registry = services(worker.wsgi).registry
    registry.install_sighup()
    master = os.getppid()
    registry.announce = lambda: os.kill(master, signal.SIGHUP)
    # Every worker seals the chained logs in the background; they take turns (docs/controls.md).
    services(worker.wsgi).audit_log.start(services(worker.wsgi).settings.seal_interval)
    # Every worker looks for a newly activated release (activation and rollback reach all of them).
    registry.watch(services(worker.wsgi).settings.release_poll)


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
