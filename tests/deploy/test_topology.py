"""The production topology of deploy/, started for real: Debian's nginx in front of gunicorn.

nginx is run from the repository's own site files (deploy/nginx/), only the addresses, the
certificate and the static folder changed for loopback ports, and gunicorn from
deploy/gunicorn.conf.py on the test database. Shown here, over TLS:

- six slowloris clients and six slow-body clients leave /healthz answering in under a second
  (without nginx, six slow connections held all four sync workers for about 30 s);
- the 21st sign-in POST in a minute from one address is refused by nginx with 429;
- a body over client_max_body_size is refused by nginx with 413 before gunicorn sees it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python -m pytest -m deploy \
        tests/deploy
"""

import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.db import connection

from tests.integration.core.test_views import ROOT, free_port
from tests.security.test_scale_out import SECRET_KEY, database_url

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="gunicorn and the test share PostgreSQL"
    ),
    pytest.mark.skipif(shutil.which("nginx") is None, reason="Debian's nginx is not installed"),
]

DEPLOY = Path(ROOT) / "deploy"
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate


def render(source: Path, replacements: list[tuple[str, str]]) -> str:
    """The deploy file with each replacement made; each must match, so a config change that
    the test no longer mirrors fails here rather than testing something else."""
    text = source.read_text()
    for old, new in replacements:
        assert old in text, f"{source.name} no longer has {old!r}"
        text = text.replace(old, new)
    return text


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def start_gunicorn(stack: ExitStack, tmp: Path) -> int:
    port = free_port()
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_ACCESS_LOG": str(tmp / "gunicorn-access.log"),
        "GUNICORN_LOG_LEVEL": "warning",
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
        "DEBUG": "0",
        "REQUIRE_MFA": "1",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HTTPS_ONLY": "1",
        "TRUST_X_FORWARDED_PROTO": "1",
        "TRUST_X_REAL_IP": "1",
        "STATIC_MANIFEST": "0",
        "LOG_LEVEL": "WARNING",
    }
    log = stack.enter_context(open(tmp / "gunicorn.log", "wb"))  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py"), "config.wsgi"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    stack.callback(_stop, process)
    return port


def start_nginx(stack: ExitStack, tmp: Path, upstream_port: int) -> int:
    port, plain_port = free_port(), free_port()
    cert, key = self_signed_certificate(tmp)
    (tmp / "http.conf").write_text(
        render(
            DEPLOY / "nginx" / "selfhelp-http.conf",
            [("server unix:/run/selfhelp/gunicorn.sock", f"server 127.0.0.1:{upstream_port}")],
        )
    )
    (tmp / "site.conf").write_text(
        render(
            DEPLOY / "nginx" / "selfhelp-site.conf",
            [
                ("    listen 80;\n", f"    listen 127.0.0.1:{plain_port};\n"),
                ("    listen [::]:80;\n", ""),
                ("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{port} ssl http2;\n"),
                ("    listen [::]:443 ssl http2;\n", ""),
                ("/etc/ssl/selfhelp/fullchain.pem", str(cert)),
                ("/etc/ssl/selfhelp/privkey.pem", str(key)),
                ("/srv/selfhelp/staticfiles/", f"{ROOT}/static/"),
            ],
        )
    )
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / folder).mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(
        f"""{user}worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/http.conf;
    include {tmp}/site.conf;
}}
"""
    )
    command = ["nginx", "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    log = stack.enter_context(open(tmp / "nginx.log", "wb"))  # noqa: SIM115
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT
    )
    stack.callback(_stop, process)
    return port


def _stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def request(port, method, path, *, body=None, headers=None, timeout=10):
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=TLS)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode(errors="replace")
    finally:
        conn.close()


def wait_until_healthy(port, tmp):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    logs = "\n".join(
        (tmp / name).read_text(errors="replace")[-1500:]
        for name in ("gunicorn.log", "nginx.log", "nginx-error.log")
        if (tmp / name).exists()
    )
    pytest.fail(f"no /healthz through nginx:\n{logs}")


def slow_client(port, stop: threading.Event, *, body: bool):
    """A slowloris (headers a line at a time) or a slow body (a byte at a time)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with TLS.wrap_socket(raw) as sock:
        if body:
            sock.sendall(
                b"POST /account/sign-out/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 100000\r\n\r\n"
            )
        else:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        n = 0
        while not stop.wait(0.5):
            try:
                sock.sendall(b"a" if body else f"X-Slow-{n}: 1\r\n".encode())
            except OSError:
                return  # nginx closed it: its timeouts at work
            n += 1


# Committed data, so that gunicorn's connections see the same database; nothing is created
# here (the sign-in attempts need no account), so the flush afterwards is all the cleaning.
@pytest.mark.django_db(transaction=True)
def test_nginx_in_front_of_gunicorn_holds_slow_clients_rate_limits_and_body_size(tmp_path):
    with ExitStack() as stack:
        upstream = start_gunicorn(stack, tmp_path)
        port = start_nginx(stack, tmp_path, upstream)
        wait_until_healthy(port, tmp_path)

        # --- six slowloris and six slow-body clients; /healthz keeps answering -------------
        stop = threading.Event()
        slow = [
            threading.Thread(target=slow_client, args=(port, stop), kwargs={"body": kind})
            for kind in (False, True)
            for _ in range(6)
        ]
        for thread in slow:
            thread.start()
        try:
            time.sleep(1.0)  # every slow client connected and sending
            timings = []
            for _ in range(8):
                started = time.perf_counter()
                status, _, _ = request(port, "GET", "/healthz", timeout=5)
                timings.append(time.perf_counter() - started)
                assert status == 200
                time.sleep(0.2)
        finally:
            stop.set()
            for thread in slow:
                thread.join(timeout=5)
        print(f"/healthz under 12 slow clients: max {max(timings) * 1000:.0f} ms")
        assert max(timings) < 1.0

        # --- the 21st sign-in POST in a minute from one address: 429 from nginx -----------
        status, headers, page = request(port, "GET", "/account/sign-in/")
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        cookies = "; ".join(
            value.split(";", 1)[0] for name, value in headers.items() if name == "Set-Cookie"
        )
        form = f"csrfmiddlewaretoken={token}&username=someone&password="  # no password check

        def sign_in(_):
            return request(
                port,
                "POST",
                "/account/sign-in/",
                body=form,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": cookies,
                    # nginx passes Host without the port ($host), as on 443 in production.
                    "Referer": "https://127.0.0.1/account/sign-in/",
                },
            )

        with ThreadPoolExecutor(max_workers=21) as pool:
            answers = list(pool.map(sign_in, range(21)))
        statuses = sorted(status for status, _, _ in answers)
        assert statuses == [200] * 20 + [429], statuses
        refused = next(answer for answer in answers if answer[0] == 429)
        assert "Content-Security-Policy" not in refused[1]  # nginx's answer, not Django's

        # --- a body over client_max_body_size: 413 before gunicorn ------------------------
        access_log = tmp_path / "gunicorn-access.log"
        seen_before = access_log.read_text().count('"POST /account/sign-out/"')
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=TLS)
        conn.putrequest("POST", "/account/sign-out/")
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(100 * 1024 * 1024))
        conn.endheaders()
        conn.send(b"x" * 1024)
        response = conn.getresponse()
        assert response.status == 413
        assert "Content-Security-Policy" not in response.headers
        conn.close()
        time.sleep(0.2)
        assert access_log.read_text().count('"POST /account/sign-out/"') == seen_before
