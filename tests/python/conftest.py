"""Shared fixtures for the cross-client suite.

One Sluice server runs for the whole pytest session. Tests reach it through boto3 (whichever botocore the
virtual environment pins: AWS JSON 1.0 for current releases, AWS Query for 1.34.89), through the AWS CLI of
the same environment, and through raw HTTP for what no SDK will send.

With SLUICE_TEST_STORAGE=postgres that server is two Sluice nodes sharing the PostgreSQL database at
SLUICE_TEST_DATABASE_URL (scripts/test starts a private PostgreSQL server for it), behind a round-robin TCP
proxy, so the clients' connections are spread across both nodes and every test also checks that two nodes
behave as one. Tests that start a server of their own on a data directory to kill or restart it (the
durable engine's crash tests) are skipped then; servers started for a configuration of their own stay
single nodes on durable storage.

Expected behaviour comes from the AWS documentation and service models, never from the server's code.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"
ACCESS_KEY = "test"
SECRET_KEY = "test"

# No user or machine AWS configuration may leak into the clients under test.
for _name in list(os.environ):
    if _name.startswith("AWS_"):
        del os.environ[_name]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

EXPECTED_PROTOCOL = os.environ.get("SLUICE_EXPECT_PROTOCOL", "").strip().lower() or None

# `off` (the server's default on loopback: any signature, a 12-digit access key names the account) or
# `sigv4` (every request verified; the accounts below are configured with these keys, so the same tests
# run unchanged and every request they make is checked).
AUTH_MODE = os.environ.get("SLUICE_AUTH_MODE", "off").strip().lower()
SIGV4 = AUTH_MODE == "sigv4"
CONFIGURED_ACCOUNTS = {
    DEFAULT_ACCOUNT: ACCESS_KEY,
    "111111111111": "111111111111",
    "123456789012": "123456789012",
    "111122223333": "111122223333",
    "444455556666": "444455556666",
}


def _accounts_config() -> str:
    entries = [
        f'[[accounts]]\nid = "{account}"\naccess-key-id = "{key}"\nsecret-access-key = "{SECRET_KEY}"\n'
        for account, key in CONFIGURED_ACCOUNTS.items()
    ]
    return 'auth = "sigv4"\n\n' + "\n".join(entries)


# `durable` (one node on its data directory, the default) or `postgres` (two nodes on one database).
STORAGE = os.environ.get("SLUICE_TEST_STORAGE", "durable").strip().lower()
POSTGRES = STORAGE == "postgres"
DATABASE_URL = os.environ.get("SLUICE_TEST_DATABASE_URL", "").strip()
POSTGRES_NODES = 2


def needs_made_up_account(access_key: str) -> None:
    """In sigv4 mode only configured accounts exist; a test that names a fresh one runs in off mode."""
    if SIGV4 and access_key not in CONFIGURED_ACCOUNTS.values():
        pytest.skip("names an account made up on the fly, which only authentication off allows")


def _sluice_binary() -> str:
    path = os.environ.get("SLUICE_BIN") or str(
        Path(__file__).resolve().parents[2] / "target" / "debug" / "sluice"
    )
    if not Path(path).is_file():
        pytest.exit(f"Sluice binary not found at {path}; run `cargo build -p sluice-server --bin sluice`", 2)
    return path


# The line a server logs once it accepts connections names the addresses it was given, in either log format:
# `sluice listening on 127.0.0.1:PORT ... admin=127.0.0.1:PORT` or JSON with `"admin":"127.0.0.1:PORT"`.
# Only a whole line counts: the server may be writing it as it is read.
_LISTENING = re.compile(r"^.*sluice listening on 127\.0\.0\.1:(\d+).*\n", re.MULTILINE)
_ADMIN = re.compile(r'\badmin"?[=:]"?127\.0\.0\.1:(\d+)')


@dataclass
class Server:
    port: int
    endpoint: str
    data_dir: str
    log_path: str
    process: subprocess.Popen
    admin_port: int | None = None

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""


def _start_sluice(arguments: list[str], data_dir: str, log_path: str, port: int = 0) -> Server:
    """`sluice --bind 127.0.0.1:<port> --data-dir <data_dir> <arguments>`, its output appended to `log_path`,
    once it accepts connections. Port 0 lets the kernel choose a free port, so no other process can take
    it between a probe and the bind; the server names the ports it got in the line it logs when ready
    (it binds only when it can answer). A restart passes the port it had, so clients keep working; that
    port may be held for a moment by a client's connection, so a refused bind is retried for a while.
    Raises AssertionError, with the log, when it does not start."""
    command = [_sluice_binary(), "--bind", f"127.0.0.1:{port}", "--data-dir", data_dir, *arguments]
    deadline = time.monotonic() + 15
    while True:
        offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        with open(log_path, "ab") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        while True:
            with open(log_path, "rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
            listening = _LISTENING.search(text)
            if listening:
                admin = _ADMIN.search(listening.group(0))
                bound = int(listening.group(1))
                return Server(
                    bound, f"http://127.0.0.1:{bound}", data_dir, log_path, process,
                    int(admin.group(1)) if admin else None,
                )
            if process.poll() is not None:
                break
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise AssertionError(f"sluice did not start within 15 s:\n{text}")
            time.sleep(0.05)
        if port == 0 or "Address already in use" not in text or time.monotonic() > deadline:
            raise AssertionError(f"sluice exited with {process.returncode} at start-up:\n{text}")
        time.sleep(0.5)


def _stop_sluice(srv: Server) -> None:
    srv.process.terminate()
    try:
        srv.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        srv.process.kill()
        srv.process.wait()


@contextlib.contextmanager
def running_server(config: str | None = None, prefix: str = "sluice-pytest-", admin: bool = False):
    """A Sluice process on a free port of 127.0.0.1 with a data directory of its own, and `config` as
    its config file; with `admin`, its admin listener on another free port (`admin_port`), else none.
    Stopped and removed on exit."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    arguments = ["--admin-bind", "127.0.0.1:0" if admin else "none"]
    if config is not None:
        config_path = os.path.join(workdir, "sluice.toml")
        Path(config_path).write_text(config)
        arguments += ["--config", config_path]
    srv = _start_sluice(arguments, os.path.join(workdir, "data"), os.path.join(workdir, "server.log"))
    try:
        yield srv
    finally:
        _stop_sluice(srv)
        shutil.rmtree(workdir, ignore_errors=True)


class RoundRobinProxy:
    """A TCP proxy on a free port of 127.0.0.1 that hands each new connection to the next node in turn and
    copies bytes both ways until the two sides have closed. An HTTP client keeps talking to one node over a
    kept-alive connection and reaches the next node with its next connection."""

    def __init__(self):
        self.ports: list[int] = []
        self._turn = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        # Accept wakes up now and then to notice close(), which does not interrupt a blocked accept.
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="sluice-proxy", daemon=True)

    def start(self, ports: list[int]) -> None:
        self.ports = ports
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            port = self.ports[self._turn % len(self.ports)]
            self._turn += 1
            threading.Thread(target=self._serve, args=(client, port), daemon=True).start()

    @staticmethod
    def _serve(client: socket.socket, port: int) -> None:
        client.settimeout(None)
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        back = threading.Thread(target=_copy, args=(upstream, client), daemon=True)
        back.start()
        _copy(client, upstream)
        back.join()
        client.close()
        upstream.close()


def _copy(source: socket.socket, target: socket.socket) -> None:
    """Copies until `source` ends (or breaks), then passes the end on to `target`."""
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@dataclass
class Cluster:
    """Sluice nodes on one PostgreSQL database behind a round-robin proxy: `endpoint` is the proxy's."""

    port: int
    endpoint: str
    nodes: list[Server]

    def log(self) -> str:
        return "\n".join(f"--- node {i} ---\n{node.log()}" for i, node in enumerate(self.nodes))


@contextlib.contextmanager
def running_cluster(config: str | None = None):
    """POSTGRES_NODES Sluice nodes on the database at SLUICE_TEST_DATABASE_URL, sharing a master key, each
    writing the proxy's address into queue URLs; stopped and removed on exit."""
    if not DATABASE_URL:
        pytest.exit("SLUICE_TEST_STORAGE=postgres needs SLUICE_TEST_DATABASE_URL (an empty database)", 2)
    workdir = tempfile.mkdtemp(prefix="sluice-pytest-pg-")
    master_key = os.path.join(workdir, "master-key")
    Path(master_key).write_bytes(os.urandom(32))
    proxy = RoundRobinProxy()
    arguments = [
        "--storage", "postgres",
        "--database-url", DATABASE_URL,
        "--master-key-file", master_key,
        "--public-url", f"http://127.0.0.1:{proxy.port}",
        "--admin-bind", "none",
    ]
    if config is not None:
        config_path = os.path.join(workdir, "sluice.toml")
        Path(config_path).write_text(config)
        arguments += ["--config", config_path]
    nodes: list[Server] = []
    try:
        # One after the other: the first prepares the database, the second finds it ready.
        for i in range(POSTGRES_NODES):
            nodes.append(
                _start_sluice(
                    arguments,
                    os.path.join(workdir, f"node-{i}"),
                    os.path.join(workdir, f"node-{i}.log"),
                )
            )
        proxy.start([node.port for node in nodes])
        yield Cluster(proxy.port, f"http://127.0.0.1:{proxy.port}", nodes)
    finally:
        proxy.close()
        for node in nodes:
            _stop_sluice(node)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    if STORAGE not in ("durable", "postgres"):
        pytest.exit(f"SLUICE_TEST_STORAGE={STORAGE}: expected durable or postgres", 2)
    config = _accounts_config() if SIGV4 else None
    with contextlib.ExitStack() as stack:
        try:
            srv = stack.enter_context(running_cluster(config) if POSTGRES else running_server(config))
        except AssertionError as failure:
            pytest.exit(str(failure), 2)
        yield srv


def pytest_collection_modifyitems(config, items):
    if not POSTGRES:
        return
    skip = pytest.mark.skip(
        reason="starts a server of its own on a data directory to crash or restart it (the durable engine); "
        "SLUICE_TEST_STORAGE=postgres runs the suite against two nodes on one database"
    )
    for item in items:
        if "private_server" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=30)


@pytest.fixture(scope="session")
def make_client(server):
    """Builds an SQS client for a region and access key (a 12-digit key names the account)."""

    def make(region: str = REGION, access_key: str = ACCESS_KEY, **kwargs):
        needs_made_up_account(access_key)
        client = boto3.session.Session().client(
            "sqs",
            endpoint_url=server.endpoint,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=SECRET_KEY,
            config=kwargs.pop("config", NO_RETRIES),
            **kwargs,
        )
        if POSTGRES:
            client.meta.events.register("before-send.sqs", _one_request_per_connection)
        return client

    return make


def _one_request_per_connection(request, **_):
    """Asks the node to close the connection after answering, so that the proxy hands this client's next
    request to the other node: a message sent through one node is received and deleted through another."""
    request.headers["Connection"] = "close"


@pytest.fixture(scope="session")
def sqs(make_client):
    return make_client()


@pytest.fixture(scope="session")
def protocol(sqs) -> str:
    """The protocol the boto3 client under test speaks ("json" or "query")."""
    return sqs.meta.service_model.protocol


def unique_name(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def queue_name() -> str:
    return unique_name("t")


@pytest.fixture
def queue_url(sqs, queue_name) -> str:
    return sqs.create_queue(QueueName=queue_name)["QueueUrl"]


# --- queue and message helpers shared by the test modules ----------------------------------------------------


def new_queue(sqs, prefix: str = "q", **attributes) -> str:
    """A standard queue with a unique name and `attributes` (values turned into strings)."""
    return sqs.create_queue(QueueName=unique_name(prefix), Attributes={k: str(v) for k, v in attributes.items()})[
        "QueueUrl"
    ]


def new_fifo(sqs, prefix: str = "f", **attributes) -> str:
    """A FIFO queue with a unique name and `attributes` (values turned into strings)."""
    attributes = {"FifoQueue": "true", **{k: str(v) for k, v in attributes.items()}}
    return sqs.create_queue(QueueName=unique_name(prefix) + ".fifo", Attributes=attributes)["QueueUrl"]


def arn_of(sqs, url) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def counters(sqs, url) -> tuple[int, int, int]:
    """(ApproximateNumberOfMessages, ...NotVisible, ...Delayed)."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        int(attrs["ApproximateNumberOfMessagesDelayed"]),
    )


def receive(sqs, url, **kwargs) -> list:
    """The messages of one ReceiveMessage (none when the response has no `Messages`)."""
    return sqs.receive_message(QueueUrl=url, **kwargs).get("Messages", [])


def now_ms() -> int:
    return int(time.time() * 1000)


# --- errors ------------------------------------------------------------------------------------------------

NON_EXISTENT_QUEUE = "AWS.SimpleQueueService.NonExistentQueue"
NAME_MESSAGE = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
FIFO_NAME_MESSAGE = (
    "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
    "must end with .fifo suffix and be 1 to 80 in length."
)


def missing_queue_message(protocol: str) -> str:
    """The text AWS gives for a missing queue.

    JSON: documented in the SQS developer guide (sqs-json-api-responses.html). Query: real AWS responses
    pasted in issues from 2015 to 2025 (e.g. aws/aws-sdk-php-laravel#129, #204; JoseLuisSR/awsmeter#23)
    all carry the older text.
    """
    if protocol == "json":
        return "The specified queue does not exist."
    return "The specified queue does not exist for this wsdl version."


def check_error(
    error: ClientError,
    code: str,
    status: int = 400,
    message: str | None = None,
    sender: bool = True,
):
    response = error.response
    detail = json.dumps(response, default=str)
    assert response["Error"]["Code"] == code, detail
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, detail
    if sender:
        # Query errors carry <Type>Sender</Type>; JSON errors the `x-amzn-query-error: <code>;Sender` header.
        assert response["Error"].get("Type") == "Sender", detail
    if message is not None:
        assert response["Error"]["Message"] == message, detail


@contextlib.contextmanager
def expect_error(code, status=400, message=None, sender=True, exception=None):
    """`with expect_error(...): call()` asserts the call fails with this SQS error."""
    with pytest.raises(exception or ClientError) as info:
        yield info
    check_error(info.value, code, status, message, sender)


# --- raw HTTP ----------------------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self):
        return json.loads(self.body)


def raw_request(server, body: bytes, headers: dict | None = None, path: str = "/", method: str = "POST") -> RawResponse:
    request = urllib.request.Request(server.endpoint + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return RawResponse(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, dict(e.headers.items()), e.read())


@pytest.fixture
def raw(server):
    if SIGV4:
        pytest.skip("unsigned raw HTTP checks the wire format, which authentication off covers")

    def send(body: bytes, headers: dict | None = None, path: str = "/", method: str = "POST") -> RawResponse:
        return raw_request(server, body, headers, path, method)

    return send


@pytest.fixture
def assert_alive(server, sqs):
    """Checks the server still answers a normal request (both over raw HTTP and through the SDK)."""

    def check():
        sqs.list_queues(QueueNamePrefix="alive-check")
        if SIGV4:
            return
        response = raw_request(
            server,
            b"{}",
            {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues"},
        )
        assert response.status == 200, response
        response = raw_request(
            server,
            b"Action=ListQueues&Version=2012-11-05",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status == 200, response

    return check


raw_http_once = pytest.mark.skipif(
    EXPECTED_PROTOCOL == "query" or SIGV4,
    reason="raw-HTTP tests do not depend on the SDK, so they run only in the current-boto3 environment, "
    "with authentication off (they send unsigned requests)",
)


# --- AWS CLI -----------------------------------------------------------------------------------------------


def _aws_executable() -> str:
    # The CLI of this virtual environment, so it uses the same botocore generation as the suite.
    local = Path(sys.executable).parent / "aws"
    if local.exists():
        return str(local)
    found = shutil.which("aws")
    if not found:
        pytest.skip("the AWS CLI is not installed in this environment")
    return found


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout) if self.stdout.strip() else None


@contextlib.contextmanager
def aws_cli(server, service: str):
    """Runs `aws <service> <args>` against the server in a clean environment (its own home directory,
    no AWS configuration) and returns its exit code and output."""
    executable = _aws_executable()
    home = tempfile.mkdtemp(prefix="sluice-cli-home-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
        AWS_PAGER="",
        HOME=home,
    )

    def run(*args: str, check: bool = True, global_args: tuple = ()) -> CliResult:
        command = [
            executable, *global_args, "--endpoint-url", server.endpoint, "--region", REGION, "--output", "json", service, *args
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        result = CliResult(done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
        return result

    run.home = home
    try:
        yield run
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def aws(server):
    """`aws sqs <args>`."""
    with aws_cli(server, "sqs") as run:
        yield run


# --- wire capture ------------------------------------------------------------------------------------------


@pytest.fixture
def wire(make_client):
    """A client plus the HTTP requests it sends (headers and body), captured before they leave."""
    client = make_client()
    sent = []

    def capture(request, **_):
        sent.append(
            {
                "headers": {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()},
                "body": request.body if isinstance(request.body, bytes) else (request.body or "").encode(),
                "url": request.url,
            }
        )

    client.meta.events.register("before-send.sqs", capture)
    return client, sent


def pytest_report_header(config):
    return [
        f"boto3 {boto3.__version__}, botocore {botocore.__version__}, "
        f"SLUICE_EXPECT_PROTOCOL={EXPECTED_PROTOCOL or '(unset)'}, SLUICE_AUTH_MODE={AUTH_MODE}, "
        f"SLUICE_TEST_STORAGE={STORAGE}" + (f" ({POSTGRES_NODES} nodes behind a round-robin proxy)" if POSTGRES else "")
    ]
