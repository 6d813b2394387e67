"""`complaints console`: the local proxy that signs the browser's requests for the ops pages.

API Gateway is played by tests/sigv4_gateway.py on loopback, which checks every SigV4 signature with
the secret key and refuses what does not verify as API Gateway does. Fixed fake keys: no AWS
credentials and no network beyond 127.0.0.1.

Over 400 lines: one command's cases, with the SigV4 gateway they all run against."""

from __future__ import annotations

import _thread
import http.client
import itertools
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from botocore.credentials import Credentials, RefreshableCredentials
from botocore.exceptions import TokenRetrievalError
from typer.testing import CliRunner

from complaints_cli import main
from complaints_cli import target as targets
from complaints_cli.console import ConsoleProxy, Upstream, canonical_query, load_credentials
from complaints_cli.target import TargetError
from tests.sigv4_gateway import CONSOLE_HTML, INVALID_TOKEN, MISMATCH, MISSING, SigV4Gateway
from tests.unit.ops.deployed import deploy_stand_in

REGION = "eu-west-1"
KEY, SECRET = "AKIDEXAMPLECONSOLE01", "console-test-secret-0123456789abcdefghij"
KEYS = {KEY: (SECRET, None)}


@pytest.fixture
def gateway() -> Iterator[SigV4Gateway]:
    with SigV4Gateway(dict(KEYS), region=REGION) as running:
        yield running


class Proxy:
    """A ConsoleProxy serving in a thread, with what it logged."""

    def __init__(self, upstream: Upstream):
        self.lines: list[str] = []
        self.server = ConsoleProxy(upstream, port=0, log=self.lines.append)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(f"{self.base}{path}", timeout=10, **kwargs)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_proxy(api_url: str, credentials=None) -> Proxy:
    return Proxy(Upstream(api_url, REGION, credentials or Credentials(KEY, SECRET)))


@pytest.fixture
def proxy(gateway: SigV4Gateway) -> Iterator[Proxy]:
    running = start_proxy(gateway.api_url)
    yield running
    running.close()


def raw(
    port: int, method: str, target: str, headers: dict[str, str] | None = None
) -> tuple[int, dict, bytes]:
    """A request exactly as written, on its own connection: (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, target, skip_host=bool(headers and "Host" in headers))
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


# ------------------------------------------------------------------ the stand-in checks signatures


def test_the_stand_in_refuses_unsigned_and_wrongly_signed_requests(gateway: SigV4Gateway):
    unsigned = requests.get(f"{gateway.api_url}/ops", timeout=10)
    assert unsigned.status_code == 403 and unsigned.json() == {"message": MISSING}

    wrong_secret = start_proxy(gateway.api_url, Credentials(KEY, "not-the-secret"))
    try:
        answer = wrong_secret.get("/prod/ops")
    finally:
        wrong_secret.close()
    assert answer.status_code == 403
    assert answer.json() == {"message": MISMATCH}  # API Gateway's answer, passed on as it came
    assert [seen.refused for seen in gateway.seen] == [MISSING, MISMATCH]
    assert any(
        "403" in line and "signature we calculated does not match" in line for line in wrong_secret.lines
    )


def test_a_signature_for_another_path_does_not_verify(gateway: SigV4Gateway):
    """The stand-in really binds the signature to the request: replaying a signed request's headers
    on another path is refused."""
    upstream = Upstream(gateway.api_url, REGION, Credentials(KEY, SECRET))
    signed = upstream.signed("GET", "/prod/ops/api/queue", {})
    status, _, body = raw(gateway.port, "GET", "/prod/ops/api/approvals", dict(signed.headers.items()))
    assert status == 403 and MISMATCH.encode() in body
    status, _, _ = raw(gateway.port, "GET", "/prod/ops/api/queue", dict(signed.headers.items()))
    assert status == 200


# ------------------------------------------------------------------ what comes through


def test_the_console_page_comes_through_signed(proxy: Proxy, gateway: SigV4Gateway):
    answer = proxy.get("/prod/ops", headers={"Accept": "text/html", "Cookie": "session=browser-secret"})

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert answer.content == CONSOLE_HTML.encode()  # nothing rewritten
    assert "Set-Cookie" not in answer.headers
    (seen,) = gateway.seen
    assert seen.refused is None and seen.access_key == KEY
    assert (seen.method, seen.path) == ("GET", "/prod/ops")
    assert seen.headers["Accept"] == "text/html"
    assert "Cookie" not in seen.headers  # the browser's cookies stay in the browser
    assert proxy.lines == ["GET /prod/ops 200"]


@pytest.mark.parametrize(
    ("path", "seen_path"),
    [
        ("/prod/ops/executions/CMP-20261123-ABC123", "/prod/ops/executions/CMP-20261123-ABC123"),
        (
            "/prod/ops/api/queue?department=finance&overdue=true",
            "/prod/ops/api/queue?department=finance&overdue=true",
        ),
        ("/prod/ops/api/queue?priority=P1&department=customer%20service", None),
        ("/prod/ops/api/report?days=7&x=a+b&y=%7e", "/prod/ops/api/report?days=7&x=a%2Bb&y=~"),
    ],
)
def test_every_page_under_the_console_comes_through_with_its_query(
    proxy: Proxy, gateway: SigV4Gateway, path: str, seen_path: str | None
):
    answer = proxy.get(path)

    assert answer.status_code == 200, answer.text
    (seen,) = gateway.seen
    assert seen.refused is None
    assert seen.path == (seen_path or path)


def test_canonical_query_encodes_as_sigv4_does_and_keeps_order():
    assert canonical_query("b=2&a=1") == "b=2&a=1"
    assert canonical_query("q=a b&r=%7E&s=a+b&flag") == "q=a%20b&r=~&s=a%2Bb&flag"
    assert canonical_query("") == ""


def test_head_is_answered_from_a_signed_get_without_the_body(proxy: Proxy, gateway: SigV4Gateway):
    status, headers, body = raw(proxy.server.port, "HEAD", "/prod/ops")

    assert status == 200 and body == b""
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Length"] == str(len(CONSOLE_HTML.encode()))
    (seen,) = gateway.seen
    assert seen.method == "GET" and seen.refused is None


def test_the_printed_address_is_the_console_under_the_stage(proxy: Proxy):
    assert proxy.server.url == f"http://127.0.0.1:{proxy.server.port}/prod/ops"
    assert Upstream(
        "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/", REGION, None
    ).console_path == ("/prod/ops")
    assert Upstream("https://ops.example.com", REGION, None).console_path == "/ops"


# ------------------------------------------------------------------ what is refused


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/prod",
        "/prod/",
        "/ops",
        "/prod/opsx",
        "/prod/complaints",
        "/prod/swagger",
        "/staging/ops",
        "/prod/ops/../complaints",
        "/prod/ops/%2e%2e/complaints",
        "/prod/ops/./api/queue",
        "/prod/ops//api/queue",
        "http://example.com/prod/ops",
    ],
)
def test_paths_outside_the_console_get_404_without_reaching_the_api(
    proxy: Proxy, gateway: SigV4Gateway, path: str
):
    port = proxy.server.port
    status, headers, body = raw(port, "GET", path, {"Host": f"127.0.0.1:{port}"})

    assert status == 404, path
    assert b"/prod/ops" in body  # says where the console is
    assert headers["Content-Type"] == "application/json"
    assert gateway.seen == []


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_methods_other_than_get_are_refused_with_405(proxy: Proxy, gateway: SigV4Gateway, method: str):
    answer = requests.request(method, f"{proxy.base}/prod/ops/api/queue", data=b"{}", timeout=10)

    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, HEAD"
    assert gateway.seen == []


FORM = "channel=phone&email=li.wei%40example.com&description=The+caller%27s+withdrawal+is+late."


def test_the_filing_form_is_posted_signed_over_its_body_from_the_consoles_own_page(
    proxy: Proxy, gateway: SigV4Gateway
):
    answer = requests.post(
        f"{proxy.base}/prod/ops/complaints",
        data=FORM,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": proxy.base},
        timeout=10,
    )

    assert answer.status_code == 202, answer.text
    (seen,) = gateway.seen
    assert (seen.method, seen.path, seen.refused, seen.body) == (
        "POST",
        "/prod/ops/complaints",
        None,
        FORM.encode(),
    )


@pytest.mark.parametrize("origin", [None, "https://evil.example", "http://127.0.0.1:1"])
def test_a_post_from_another_page_than_the_consoles_is_refused(proxy: Proxy, gateway: SigV4Gateway, origin):
    headers = {"Content-Type": "application/x-www-form-urlencoded", **({"Origin": origin} if origin else {})}
    answer = requests.post(f"{proxy.base}/prod/ops/complaints", data=FORM, headers=headers, timeout=10)

    assert answer.status_code == 403
    assert gateway.seen == []


def test_only_the_filing_form_may_be_posted(proxy: Proxy, gateway: SigV4Gateway):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": proxy.base}
    for path in ("/prod/ops/api/queue", "/prod/ops/complaints/x", "/prod/complaints"):
        answer = requests.post(f"{proxy.base}{path}", data=FORM, headers=headers, timeout=10)
        assert answer.status_code == 405, path
    assert gateway.seen == []


def test_requests_addressed_to_another_host_name_are_refused(proxy: Proxy, gateway: SigV4Gateway):
    """A web page that points its own DNS name at 127.0.0.1 cannot use the proxy."""
    port = proxy.server.port
    status, _, _ = raw(port, "GET", "/prod/ops", {"Host": f"attacker.example:{port}"})
    assert status == 403
    assert gateway.seen == []
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, _, _ = raw(port, "GET", "/prod/ops", {"Host": host})
        assert status == 200, host


def _other_addresses() -> list[str]:
    """Addresses of this machine that are not 127.0.0.1: 127.0.0.2 on Linux (all of 127/8 is
    loopback there, but a socket bound to 127.0.0.1 does not answer it), and the address of the
    interface to the outside, if there is one (a UDP connect sends nothing)."""
    found = ["127.0.0.2"] if sys.platform.startswith("linux") else []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if not address.startswith("127."):
        found.append(address)
    return found


def test_the_proxy_listens_on_127_0_0_1_only(proxy: Proxy):
    assert proxy.server.server_address[0] == "127.0.0.1"
    others = _other_addresses()
    if not others:
        pytest.skip("no address of this machine other than 127.0.0.1 to try")
    for address in others:
        with socket.socket() as client:
            client.settimeout(2)
            with pytest.raises(OSError):
                client.connect((address, proxy.server.port))


def test_an_api_that_does_not_answer_is_a_502(gateway: SigV4Gateway):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{closed.getsockname()[1]}/prod"
    down = start_proxy(nobody)
    try:
        answer = down.get("/prod/ops")
    finally:
        down.close()
    assert answer.status_code == 502
    assert "did not answer" in answer.json()["message"]


# ------------------------------------------------------------------ credentials


def rotating_credentials(fail_after: int | None = None) -> RefreshableCredentials:
    """Credentials about to expire, refreshed with new temporary keys at every use; from
    refresh number `fail_after` on, the refresh fails as an expired SSO sign-in does."""
    counter = itertools.count(1)

    def refresh() -> dict:
        n = next(counter)
        if fail_after is not None and n > fail_after:
            raise TokenRetrievalError(provider="sso", error_msg="Token has expired and refresh failed")
        return {
            "access_key": f"ASIATEMPORARY{n:07d}",
            "secret_key": f"temporary-secret-{n}",
            "token": f"session-token-{n}",
            # Within botocore's 10-minute mandatory refresh window: refreshed before every use.
            "expiry_time": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        }

    return RefreshableCredentials.create_from_metadata(refresh(), refresh, "sso")


def test_each_request_is_signed_with_the_credentials_of_that_moment(gateway: SigV4Gateway):
    for n in range(1, 5):
        gateway.keys[f"ASIATEMPORARY{n:07d}"] = (f"temporary-secret-{n}", f"session-token-{n}")
    rotating = start_proxy(gateway.api_url, rotating_credentials())
    try:
        first = rotating.get("/prod/ops")
        second = rotating.get("/prod/ops/api/queue")
    finally:
        rotating.close()

    assert (first.status_code, second.status_code) == (200, 200)
    assert [seen.refused for seen in gateway.seen] == [None, None]
    keys = [seen.access_key for seen in gateway.seen]
    assert keys[0] != keys[1] and all(key.startswith("ASIATEMPORARY") for key in keys)
    assert all(seen.headers["X-Amz-Security-Token"].startswith("session-token-") for seen in gateway.seen)


def test_a_session_token_that_is_not_sent_is_refused_by_the_stand_in(gateway: SigV4Gateway):
    gateway.keys[KEY] = (SECRET, "the-session-token")
    without_token = start_proxy(gateway.api_url, Credentials(KEY, SECRET))
    try:
        answer = without_token.get("/prod/ops")
    finally:
        without_token.close()
    assert answer.status_code == 403 and answer.json() == {"message": INVALID_TOKEN}


def test_credentials_that_can_no_longer_be_refreshed_give_a_502_that_says_so(gateway: SigV4Gateway):
    for n in range(1, 3):
        gateway.keys[f"ASIATEMPORARY{n:07d}"] = (f"temporary-secret-{n}", f"session-token-{n}")
    expiring = start_proxy(gateway.api_url, rotating_credentials(fail_after=2))
    try:
        assert expiring.get("/prod/ops").status_code == 200
        answer = expiring.get("/prod/ops")
    finally:
        expiring.close()

    assert answer.status_code == 502
    message = answer.json()["message"]
    assert message.startswith("Your AWS credentials cannot be used:") and "Token has expired" in message
    assert len(gateway.seen) == 1  # the API never saw the unsigned request
    assert any(
        line.startswith("GET /prod/ops 502: Your AWS credentials cannot be used") for line in expiring.lines
    )


class Session:
    def __init__(self, credentials):
        self.credentials = credentials

    def get_credentials(self):
        return self.credentials


def test_load_credentials_returns_usable_credentials_and_refuses_the_rest():
    good = Credentials(KEY, SECRET)
    assert load_credentials(Session(good)) is good

    with pytest.raises(TargetError, match=r"^No AWS credentials found\. Configure them"):
        load_credentials(Session(None))
    with pytest.raises(TargetError, match=r"^Your AWS credentials cannot be used: .*Token has expired"):
        load_credentials(Session(rotating_credentials(fail_after=1)))


# ------------------------------------------------------------------ the command


def unwrapped(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch, gateway: SigV4Gateway, tmp_path) -> SigV4Gateway:
    """`complaints --stack complaints-test console` finds the stand-in API as its stack's ApiUrl, with
    the fake keys as the default credentials (and nothing else of this machine's AWS configuration)."""
    deploy_stand_in(monkeypatch, gateway, tmp_path, KEY, SECRET)
    return gateway


def test_the_command_opens_the_browser_on_the_console_and_stops_on_ctrl_c(
    deployed: SigV4Gateway, monkeypatch: pytest.MonkeyPatch
):
    fetched: list[requests.Response] = []

    def browser(url: str) -> bool:
        def visit() -> None:
            try:
                fetched.append(requests.get(url, timeout=10))
            finally:
                _thread.interrupt_main()  # Ctrl-C

        threading.Thread(target=visit, daemon=True).start()
        return True

    monkeypatch.setattr("webbrowser.open", browser)
    done = CliRunner().invoke(main.app, ["--stack", "complaints-test", "console", "--port", "0"])

    assert done.exit_code == 0, done.output
    (page,) = fetched
    assert page.status_code == 200 and page.text == CONSOLE_HTML
    assert page.url.startswith("http://127.0.0.1:") and page.url.endswith("/prod/ops")
    assert page.url in done.stdout
    assert "Stopped." in done.stdout
    assert [seen.refused for seen in deployed.seen] == [None]


def test_the_command_without_credentials_says_so_in_one_line_and_exits_2(
    deployed: SigV4Gateway, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setattr("webbrowser.open", lambda url: pytest.fail("no browser without credentials"))

    done = CliRunner().invoke(main.app, ["console", "--stack", "complaints-test", "--no-browser"])

    assert done.exit_code == 2
    message = unwrapped(done.stderr)  # one message, which the console may wrap at its width
    assert message.startswith("Error: No AWS credentials found. Configure them")
    assert message.count("Error:") == 1 and "Traceback" not in done.output
    assert deployed.seen == []


def test_the_command_on_a_taken_port_says_so_and_exits_2(deployed: SigV4Gateway):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = CliRunner().invoke(main.app, ["console", "--port", str(port), "--no-browser"])

    assert done.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in unwrapped(done.stderr) and "--port" in done.stderr


def test_the_command_with_the_embedded_stack_points_to_the_banner_link(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(targets, "local", lambda url: pytest.fail("no need to reach the embedded stack"))
    monkeypatch.setattr("webbrowser.open", lambda url: pytest.fail("no browser for the embedded stack"))

    done = CliRunner().invoke(main.app, ["--local", "--local-url", "http://127.0.0.1:3100", "console"])

    assert done.exit_code == 0
    assert "banner prints the ops console link (with its token)" in done.stdout
    assert "http://127.0.0.1:3100/ops?token=…" in done.stdout
