"""A restart of PostgreSQL or of the broker under a running decider and worker (real
processes, real servers): both reconnect and go on, and the items that arrive during and
after the outage are stored and decided, none lost or doubled.

The rest of the suite shares one PostgreSQL and one RabbitMQ, with tests running in
parallel that must not see them go away: each test here starts a server of its own (a
cluster made with ``initdb``, a RabbitMQ node with its own name, ports and files) and
restarts that one."""

from __future__ import annotations

import contextlib
import glob
import math
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from aggregator.storage import Storage
from tests.feeds import html, story
from tests.helpers import free_port, server_port, wait_for
from tests.hostile_server import HostileServer, Meter
from tests.test_roles import Role

pytestmark = pytest.mark.processes

SHARED_BROKER = "amqp://guest:guest@127.0.0.1:5672/"
FEEDS = 6
STORIES = 5
OUTAGE = 3.0
"""Seconds a server stays down: several rounds of the decider (0.5 s apart) and a poll of
every feed (2 s apart) run into it."""
RECOVERY = 60.0
"""The bound for the items of a round to be stored and decided.  A task that failed in
the outage runs again after the retry backoff (2, 4, 8 s: ``roles.TASK_RETRY_BACKOFF_MS``)."""


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _as_user(user: str) -> list[str]:
    """initdb, postgres and pg_ctl refuse to run as root: as root, run them as ``user``."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without runuser: cannot start a private PostgreSQL")
    try:
        pwd.getpwnam(user)
    except KeyError:
        pytest.skip(f"running as root without a {user!r} user: cannot start PostgreSQL")
    return [runuser, "-u", user, "--"]


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own on a free port, reachable on 127.0.0.1
    only (its unix socket in its own folder)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.runner = _as_user("postgres")
        # Not under pytest's tmp_path: its folders are private to root, and the server
        # may run as postgres.
        self.folder = Path(tempfile.mkdtemp(prefix="agg-pg-"))
        if self.runner:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = server_port()
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def _run(self, program: str, *args: str) -> None:
        command = [*self.runner, str(self.bindir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise AssertionError(f"{program} {' '.join(args)}: {done.stderr}{done.stdout}{log}")

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port}"
            f" -c unix_socket_directories={shlex.quote(str(self.folder))} -c fsync=off"
        )
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: the sessions of the processes are cut, as in a restart."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "60")

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    initdb = Path(found[-1]) if found else None
    if initdb is None and (on_path := shutil.which("initdb")):
        initdb = Path(on_path).resolve()
    if initdb is None or not (initdb.parent / "pg_ctl").exists():
        pytest.skip("PostgreSQL's initdb and pg_ctl not installed: no private cluster")
    server = PrivatePostgres(initdb.parent)
    try:
        server.start()
        yield server
    finally:
        server.close()


def _version(path: str) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin/initdb → (15,): the newest installed version last."""
    number = Path(path).parent.parent.name
    return tuple(int(p) for p in number.split(".") if p.isdigit())


def _rabbitmq_program(name: str) -> str | None:
    """Debian's ``/usr/sbin/rabbitmq-server`` runs the system node's files as the rabbitmq
    user; the release's own scripts run as this user, with the files named here."""
    packaged = Path("/usr/lib/rabbitmq/bin") / name
    return str(packaged) if packaged.exists() else shutil.which(name)


class PrivateRabbitmq:
    """A RabbitMQ node of this test's own: its own name, ports (AMQP, distribution and
    epmd), data, logs and cookie, no plugins, listening on 127.0.0.1 only."""

    def __init__(self, folder: Path, server: str, ctl: str) -> None:
        self.folder = folder
        self.server = server
        self.ctl = ctl
        self.node = f"agg-{uuid.uuid4().hex[:10]}@localhost"
        self.port = server_port()
        self.epmd_port = server_port()
        self.log = folder / "server.log"
        (folder / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's node and port
        (folder / "enabled_plugins").write_text("[].\n")
        (folder / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        self.env = {
            **os.environ,
            "HOME": str(folder),  # the Erlang cookie, shared by the server and rabbitmqctl
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(server_port()),  # its default, port + 20000, may not exist
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(folder / "plugins-expand"),
            "RABBITMQ_PID_FILE": str(folder / "rabbitmq.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(self.epmd_port),  # an epmd of its own, ended in close()
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _ctl(self, *args: str, timeout: float = 90) -> None:
        command = [self.ctl, "-n", self.node, *args]
        done = subprocess.run(command, env=self.env, capture_output=True, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(args)}: {done.stdout!r}{self._tail()}")

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def start(self) -> None:
        """Boot the node (the same name, ports and data each time) and wait until it
        takes connections."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [self.server],
                env=self.env,
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, ended as one in close()
            )
        process = self.process
        # rabbitmqctl await_startup gives up at once while the node is not registered.
        wait_for(lambda: process.poll() is not None or _port_open(self.port), 90, "RabbitMQ's port")
        if process.poll() is not None:
            raise AssertionError(f"rabbitmq-server exited {process.returncode}: {self._tail()}")
        self._ctl("await_startup", "--timeout", "60")

    def stop(self) -> None:
        """A clean stop: the connections of the processes are closed by the server."""
        self._ctl("stop")
        if self.process is not None:
            self.process.wait(timeout=60)

    def close(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self.stop()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        epmd = shutil.which("epmd")
        if epmd is not None:
            subprocess.run(
                [epmd, "-port", str(self.epmd_port), "-kill"], capture_output=True, timeout=10
            )


@pytest.fixture
def private_rabbitmq(tmp_path: Path) -> Iterator[PrivateRabbitmq]:
    server, ctl = _rabbitmq_program("rabbitmq-server"), _rabbitmq_program("rabbitmqctl")
    if server is None or ctl is None:
        pytest.skip("rabbitmq-server and rabbitmqctl not installed: no private node")
    folder = tmp_path / "rabbitmq"
    folder.mkdir()
    node = PrivateRabbitmq(folder, server, ctl)
    try:
        node.start()
        yield node
    finally:
        node.close()


@pytest.fixture
def roles() -> Iterator[list[Role]]:
    started: list[Role] = []
    yield started
    for role in started:
        role.close()


class _Arrivals(Meter):
    """Tells when a delayed request arrives: the worker then holds a fetch for the
    request's delay."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()

    def enter(self, host: str) -> None:
        super().enter(host)
        self.arrived.set()


def _round(server: HostileServer, stories: int) -> None:
    """Feed k carries stories k … k+4 (of 10), each copy with the feed's own footer and
    title style, then stories 10 … ``stories - 1`` (news of later rounds) in every feed."""
    for k in range(FEEDS):
        server.set_feed(
            f"n{k}",
            [
                {
                    "guid": f"n{k}-{s}",
                    "title": f"Story {s} | Site {k}",
                    "link": f"https://site{k}.example/{s}",
                    "html": html(story(500 + s), f"<p>Sponsored by Site {k} partners</p>"),
                }
                for s in [(k + i) % 10 for i in range(STORIES)] + list(range(10, stories))
            ],
        )


def _config(folder: Path, database: str, broker: str, urls: list[str]) -> Path:
    config = folder / "roles.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": database,
                "broker": broker,
                "polling": {"interval": "2s", "timeout": "10s"},
                "feeds": [{"url": u} for u in urls],
            }
        )
    )
    return config


def _settled(storage: Storage, items: int) -> bool:
    """Every item stored and in a cluster, none waiting; False while the database is away
    (this test's own connections break in the restart too)."""
    try:
        storage.upgrade()  # the decider may not have made the schema yet
        listed = storage.list_items()
        return (
            len(listed) == items
            and all(i.cluster_id is not None for i in listed)
            and storage.decision_backlog()[0] == 0
        )
    except Exception:
        return False


def _items(stories: int) -> int:
    """Stories 0 … 9 in ``STORIES`` feeds each, later ones in every feed."""
    return FEEDS * (STORIES + stories - 10)


def _check(storage: Storage, stories: int, roles: list[Role]) -> None:
    """Nothing lost or doubled: ``FEEDS`` copies of each of ``stories`` stories, one
    cluster a story, and every process still running."""
    items = storage.list_items()
    guids = [i.guid for i in items]
    assert len(guids) == len(set(guids)) == _items(stories)
    clusters: dict[int | None, set[str]] = {}
    for item in items:
        clusters.setdefault(item.cluster_id, set()).add((item.title or "").split(" | ")[0])
    assert len(clusters) == stories
    assert all(len(titles) == 1 for titles in clusters.values())
    for role in roles:
        assert role.process.poll() is None, f"{role.log_path.name} exited: {_tail(role)}"


def _tail(role: Role) -> str:
    return role.log_path.read_text(errors="replace")[-3000:]


def _run_through_restart(
    server: HostileServer,
    arrivals: _Arrivals,
    storage: Storage,
    roles: list[Role],
    stop: Callable[[], None],
    start: Callable[[], None],
) -> None:
    """Settle a first round; stop the server while the worker holds fetches, publish a
    second round while it is down, start it again; then a third round.  Each round is
    stored and decided, nothing lost or doubled, and the processes live throughout."""
    wait_for(lambda: _settled(storage, _items(10)), RECOVERY, "the first round decided")
    _check(storage, 10, roles)
    arrivals.arrived.clear()
    assert arrivals.arrived.wait(30), "no fetch after the first round"
    stop()  # the held fetches end after this: their store or acknowledgement fails
    _round(server, 12)  # news while the server is down
    time.sleep(OUTAGE)
    for role in roles:
        assert role.process.poll() is None, f"{role.log_path.name} exited: {_tail(role)}"
    start()
    wait_for(lambda: _settled(storage, _items(12)), RECOVERY, "the round of the outage")
    _check(storage, 12, roles)
    _round(server, 14)  # news after the restart
    wait_for(lambda: _settled(storage, _items(14)), RECOVERY, "the round after it")
    _check(storage, 14, roles)


def _delete_queues(broker_url: str, queue: str) -> None:
    """The queues a test made on the shared broker go with its database."""
    broker = RabbitmqBroker(url=broker_url)
    try:
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            broker.channel.queue_delete(name)
    except Exception:  # tidying only: an empty queue left behind harms nothing
        pass
    finally:
        broker.close()


def test_decider_and_worker_go_on_after_a_postgresql_restart(
    tmp_path: Path, private_postgres: PrivatePostgres, roles: list[Role]
) -> None:
    """The decider's rounds fail while the database is down and its lease goes with its
    connection; the worker's stores fail and Dramatiq runs those tasks again later.
    Afterwards both use new connections (the pool pings the old ones)."""
    if not _port_open(5672):
        pytest.skip("RabbitMQ not reachable at 127.0.0.1:5672 (.ci/run starts it)")
    name = f"agg_restart_{uuid.uuid4().hex[:12]}"  # the queue on the shared broker: its own
    database = private_postgres.create_database(name)
    try:
        arrivals = _Arrivals()
        with HostileServer(meter=arrivals) as server:
            _round(server, 10)
            # Answers take 1.5 s: a fast shutdown of PostgreSQL is done before they end.
            urls = [server.url(f"/feed/n{k}?delay=1.5") for k in range(FEEDS)]
            config = _config(tmp_path, database, SHARED_BROKER, urls)
            roles.append(Role(config, "decider", tmp_path / "decider.log"))
            roles.append(Role(config, "worker", tmp_path / "worker.log"))
            storage = Storage(database)
            try:
                _run_through_restart(
                    server, arrivals, storage, roles, private_postgres.stop, private_postgres.start
                )
            finally:
                storage.close()
        # The outage did reach the processes (not only this test's connections).
        assert "decider-round-failed" in (tmp_path / "decider.log").read_text()
        assert "Failed to process message" in (tmp_path / "worker.log").read_text()
    finally:
        for role in roles:  # first: a running worker would declare its queue again
            role.close()
        _delete_queues(SHARED_BROKER, f"aggregator.{name}")


def test_decider_and_worker_go_on_after_a_broker_restart(
    tmp_path: Path, pg_url: str, private_rabbitmq: PrivateRabbitmq, roles: list[Role]
) -> None:
    """The held fetches are stored, but their acknowledgements die with the connection:
    the broker hands those tasks out again (a second store changes nothing).  The decider
    cannot send while the broker is down (the feeds are due again at once) but keeps its
    lease; the worker's consumer reconnects on its own."""
    arrivals = _Arrivals()
    with HostileServer(meter=arrivals) as server:
        _round(server, 10)
        # Answers take 2.5 s: stopping RabbitMQ (rabbitmqctl) takes about one.
        urls = [server.url(f"/feed/n{k}?delay=2.5") for k in range(FEEDS)]
        config = _config(tmp_path, pg_url, private_rabbitmq.url, urls)
        roles.append(Role(config, "decider", tmp_path / "decider.log"))
        roles.append(Role(config, "worker", tmp_path / "worker.log"))
        storage = Storage(pg_url)
        try:
            _run_through_restart(
                server, arrivals, storage, roles, private_rabbitmq.stop, private_rabbitmq.start
            )
        finally:
            storage.close()
    decider_log = (tmp_path / "decider.log").read_text()
    assert "queue-depth-unavailable" in decider_log  # the outage reached it
    assert "decider-round-failed" not in decider_log  # and cost it no lease
    assert "Consumer encountered a connection error" in (tmp_path / "worker.log").read_text()


def _role_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if "event=role " in line]


def _queue_depth(port: int) -> float | None:
    """The decider's ``aggregator_queue_depth`` gauge (None: no answer yet)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("aggregator_queue_depth "):
            return float(line.split()[1])
    return None


def test_an_idle_decider_keeps_its_lease_and_reconnects_to_a_restarted_broker(
    tmp_path: Path, pg_url: str, private_rabbitmq: PrivateRabbitmq, roles: list[Role]
) -> None:
    """With no feed due the decider sends nothing, but each round reads the queue's depth
    (a metric).  While the broker is away the metric says NaN and the decider stays the
    decider (its lease and its loaded state kept); afterwards the read reconnects.  It
    used to fail the whole round on the closed channel, giving the lease up and loading
    the state again twice a second until a feed came due: never, with none, as here."""
    config = _config(tmp_path, pg_url, private_rabbitmq.url, [])
    log = tmp_path / "decider.log"
    port = free_port()
    roles.append(Role(config, "decider", log, "--metrics-port", str(port)))
    wait_for(lambda: _queue_depth(port) == 0, 30, "the decider reading the queue's depth")
    private_rabbitmq.stop()
    wait_for(lambda: math.isnan(_queue_depth(port) or 0.0), 10, "the depth unknown")
    private_rabbitmq.start()
    wait_for(lambda: _queue_depth(port) == 0, 10, "the depth read again")
    assert [line.rsplit("=", 1)[1] for line in _role_lines(log)] == ["decider"], _tail(roles[0])
    assert "decider-round-failed" not in log.read_text()
    assert roles[0].process.poll() is None
