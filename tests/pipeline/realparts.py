"""Real parts for the pipeline: a Redis server, the Kiva sandbox's own server and Celery
workers, each a process started here on a free port and stopped here (test_workers.py and
`make bench-push` use them).

Every process runs in its own session (process group), so stopping it stops its children
too (a prefork worker's pool), and every wait has a deadline. Nothing here touches a Redis
or a worker it did not start.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from kombu import pools as kombu_pools

ROOT = Path(__file__).resolve().parents[2]


class NotReady(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout, interval=0.2, what="a condition", tick=None):
    """Poll `condition` until it returns something true; raise NotReady after `timeout` s.
    `tick` runs between polls (the tests sweep there)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise NotReady(f"timed out after {timeout}s waiting for {what}")
        if tick is not None:
            tick()
        time.sleep(interval)


def database_url(db_settings: dict) -> str:
    """A DATABASE_URL for Django's settings of one database (PostgreSQL)."""
    user = quote(db_settings.get("USER") or "", safe="")
    password = db_settings.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = db_settings.get("HOST") or "127.0.0.1"
    port = db_settings.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{quote(db_settings['NAME'], safe='')}"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Process:
    """A child process in its own session, its output in a log file."""

    def __init__(self, name: str, args: list[str], *, env: dict, log: Path, cwd=ROOT):
        self.name = name
        self.args = args
        self.log = log
        self._log_file = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(  # noqa: S603 - our own commands
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self, last: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-last:]
        except OSError:
            return ""

    def signal_group(self, sig) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL to the whole group, as when a machine dies: no clean-up runs."""
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def stop(self, *, grace: float = 10.0, sig=signal.SIGTERM) -> None:
        if self.alive():
            self.signal_group(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        # Whatever is left of the group (a pool child) goes too.
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        self._log_file.close()


class RedisServer:
    """A throwaway redis-server: no persistence, on its own port, never the machine's."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.process = None
        self.starts = 0

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 15) -> "RedisServer":
        self.starts += 1
        self.process = Process(
            f"redis-{self.starts}",
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            env=dict(os.environ),
            log=self.workdir / f"redis-{self.port}.log",
        )
        wait_until(self.ping, timeout=timeout, what=f"redis on port {self.port}")
        return self

    def ping(self) -> bool:
        import redis

        if self.process is None or not self.process.alive():
            if self.process is not None and not self.process.alive():
                raise NotReady(f"redis-server exited:\n{self.process.output()}")
            return False
        try:
            client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=10)
            self.process = None
            wait_until(
                lambda: not port_open(self.port), timeout=10, what=f"port {self.port} to close"
            )


class Parts:
    """The processes of one test or benchmark run. `env` is the environment every child gets
    (the database, the broker, the cache); `extra` adds settings for the workers."""

    def __init__(self, workdir: Path, *, database_url: str, log_level: str = "INFO"):
        self.workdir = workdir
        self.database_url = database_url
        self.log_level = log_level
        self.redis = RedisServer(workdir)
        self.sandbox = None
        self.sandbox_port = None
        self.workers: dict[str, Process] = {}
        self.other: list[Process] = []
        self._celery_restore = None

    # -- environment ---------------------------------------------------------------------

    def env(self, **extra) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "CELERY_", "KIVA_", "DATABASE_", "CACHE_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="kivaportal.settings",
            DATABASE_URL=self.database_url,
            CELERY_BROKER_URL=self.redis.url(0),
            CACHE_URL=self.redis.url(1),
            PYTHONUNBUFFERED="1",
            LOG_LEVEL=self.log_level,
        )
        env.update({k: str(v) for k, v in extra.items()})
        return env

    # -- the parts -----------------------------------------------------------------------

    def start_redis(self) -> RedisServer:
        return self.redis.start()

    def start_sandbox(self, timeout: float = 30) -> str:
        """The sandbox as its own server process; returns its base URL."""
        import requests

        self.sandbox_port = self.sandbox_port or free_port()
        self.sandbox = Process(
            "sandbox",
            [
                sys.executable,
                "manage.py",
                "kiva_sandbox",
                "--port",
                str(self.sandbox_port),
            ],
            env=self.env(),
            log=self.workdir / "sandbox.log",
        )
        url = f"http://127.0.0.1:{self.sandbox_port}/kiva-sandbox/"

        def up():
            if not self.sandbox.alive():
                raise NotReady(f"the sandbox exited:\n{self.sandbox.output()}")
            try:
                return requests.get(url, timeout=2).status_code < 500
            except requests.RequestException:
                return False

        wait_until(up, timeout=timeout, what="the sandbox server")
        return url

    def start_worker(
        self, name: str, *, concurrency: int = 1, wait: bool = True, timeout=60, **extra
    ) -> Process:
        """`celery worker -Q kiva,celery` (prefork) with the environment plus `extra`."""
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kivaportal",
            "worker",
            "-Q",
            "kiva,celery",
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            self.log_level,
        ]
        process = Process(
            name, args, env=self.env(**extra), log=self.workdir / f"worker-{name}.log"
        )
        self.workers[name] = process
        if wait:
            self.wait_ready(process, timeout=timeout)
        return process

    def wait_ready(self, process: Process, timeout=60) -> None:
        def ready():
            if not process.alive():
                raise NotReady(f"worker {process.name} exited:\n{process.output()}")
            return " ready." in process.output(last=100_000)

        wait_until(ready, timeout=timeout, interval=0.3, what=f"worker {process.name}")

    def worker_children(self, process: Process) -> list[int]:
        """The pool processes of a prefork worker (the ones that run the tasks)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == process.pid:
                found.append(int(entry.name))
        return found

    # -- the test process as a producer ---------------------------------------------------

    def use_broker(self) -> None:
        """Make this process publish to our Redis (the tests run Celery eagerly otherwise)."""
        from kivaportal.celery import app

        conf = app.conf
        if self._celery_restore is None:
            self._celery_restore = {
                "broker_url": conf.broker_url,
                "task_always_eager": conf.task_always_eager,
            }
        # The app reads Django's settings under the CELERY_ namespace: set those keys.
        conf["CELERY_BROKER_URL"] = self.redis.url(0)
        conf["CELERY_TASK_ALWAYS_EAGER"] = False
        reset_producers(app)

    def _restore_celery(self) -> None:
        if self._celery_restore is None:
            return
        from kivaportal.celery import app

        reset_producers(app)
        app.conf["CELERY_BROKER_URL"] = self._celery_restore["broker_url"]
        app.conf["CELERY_TASK_ALWAYS_EAGER"] = self._celery_restore["task_always_eager"]
        self._celery_restore = None

    # -- the end ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop everything started here, whatever state it is in; bounded in time."""
        for process in [*self.workers.values(), *self.other]:
            process.stop(grace=10)
        self.workers, self.other = {}, []
        if self.sandbox is not None:
            self.sandbox.stop(grace=5)
            self.sandbox = None
        self._restore_celery()
        self.redis.stop()


def reset_producers(app) -> None:
    """Forget every broker connection, the app's and kombu's: after the broker's URL changed
    (or the test's own Redis went away). Closing only the app's pool left kombu's registry
    holding it, closed, for the next test that publishes ("Acquire on closed pool")."""
    kombu_pools.reset()  # closes and forgets every connection and producer pool
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
