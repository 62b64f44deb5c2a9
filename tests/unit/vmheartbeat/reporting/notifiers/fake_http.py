# Copyright 2026 masakari-monitors-ext developers
#
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""A small HTTP server on 127.0.0.1 that answers what a test queued.

The notifiers that call a REST API are tested through a real keystoneauth
adapter against it: what the service receives is what the notifier sent.
Such a test has a configuration of its own (:func:`private_conf`).

Besides plain answers it can play a hostile or slow receiver: a redirect
(:class:`Redirect`), an answer sent one byte at a time (:class:`Drip`) or
late (:class:`Late`), a huge or endless body (:class:`Huge`), over plain
HTTP or TLS (``tls=True``). :class:`RawService` sends raw bytes, a TLS
handshake that trickles say.
"""

import collections
import datetime
import http.server
import ipaddress
import json
import os
import socket
import ssl
import threading
import time

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import NameOID
import fixtures
from masakarimonitors.conf import api as mm_api
from oslo_config import cfg
from oslo_config import fixture as config_fixture

from masakarimonitors_ext.conf import api
from masakarimonitors_ext.conf import notifiers
from tests.unit import base as test_base

#: an answer: read the request, then answer nothing until the test ends (a
#: service that hangs)
HANG = object()


_Request = collections.namedtuple('Request',
                                  'method path headers body peer')


class Redirect(collections.namedtuple('Redirect', 'status location')):
    """An answer: a redirect to ``location``."""


class Drip(collections.namedtuple('Drip', 'interval status body')):
    """An answer sent one byte every ``interval`` seconds, status line first.

    Sent in full it would take ``interval`` times its length.
    """

    def __new__(cls, interval, status=200, body='x' * 1000):
        return super().__new__(cls, interval, status, body)


class Late(collections.namedtuple('Late', 'delay answer')):
    """``answer``, after ``delay`` seconds."""


class Huge(collections.namedtuple('Huge', 'status size')):
    """An answer whose body has ``size`` bytes; None: endless (chunked)."""

    def __new__(cls, status=200, size=None):
        return super().__new__(cls, status, size)


#: bytes of each write of a huge body
_HUGE_CHUNK = 65536


class Request(_Request):
    """One request: its headers with lower-case names, its body bytes.

    ``peer``: the client's (address, port), one per connection.
    """

    def json(self):
        return json.loads(self.body.decode('utf-8'))


def private_conf(test):
    """A configuration of its own for a test that loads auth plugins.

    keystoneauth registers the options of the auth plugin it loads in the
    group; two plugins with an option of the same name (``endpoint``)
    cannot both be registered in one group. oslo.config shares the options
    of a group registered from one ``OptGroup`` object between every
    configuration it is registered in: the groups here are new ones.
    """
    conf = cfg.ConfigOpts()
    for name in ('api', 'mistral', 'vitrage', 'messaging_notifier'):
        conf.register_group(cfg.OptGroup(name))
    mm_api.register_opts(conf)
    api.register_opts(conf)
    notifiers.register_opts(conf)
    conf([], project='masakarimonitors', default_config_files=[])
    test.conf = conf
    test.conf_fixture = test.useFixture(config_fixture.Config(conf))
    return conf


def closed_port_url():
    """The URL of a port of 127.0.0.1 that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return 'http://127.0.0.1:%d' % port


class FakeService(fixtures.Fixture):
    """Records each request and answers the next queued answer.

    An answer is ``(status, body)``, the body a dict or list (sent as
    JSON) or a str (sent as text), :data:`HANG`, or one of the hostile
    answers above. When none is queued, ``default`` is answered.
    ``fixed``: {path: answer} answered to a GET of that path every time
    (a version document, say), never queued.
    """

    def __init__(self, default=(200, {}), tls=False, fixed=None):
        super().__init__()
        self.default = default
        self.tls = tls
        self.fixed = dict(fixed or {})
        #: the certificate to trust, when tls
        self.cafile = None

    def _setUp(self):
        self.requests = []
        #: body bytes of Huge answers written to the socket
        self.sent_bytes = 0
        #: set when the client cut a Drip or Huge answer short, at cut_at
        self.cut = threading.Event()
        self.cut_at = None
        self._answers = collections.deque()
        self._changed = threading.Condition()
        self._release = threading.Event()
        #: set when a request got the answer HANG
        self.hanging = threading.Event()
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            # keep-alive, as the services are
            protocol_version = 'HTTP/1.1'

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                with service._changed:
                    service.requests.append(Request(
                        self.command, self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body, self.client_address))
                    if (self.command == 'GET' and
                            self.path in service.fixed):
                        answer = service.fixed[self.path]
                    elif service._answers:
                        answer = service._answers.popleft()
                    else:
                        answer = service.default
                    service._changed.notify_all()
                if isinstance(answer, Late):
                    if service._release.wait(answer.delay):
                        return
                    answer = answer.answer
                if answer is HANG:
                    service.hanging.set()
                    service._release.wait(test_base.WAIT)
                    return
                try:
                    if isinstance(answer, Redirect):
                        return self._redirect(answer)
                    if isinstance(answer, Drip):
                        return self._drip(answer)
                    if isinstance(answer, Huge):
                        return self._huge(answer)
                except OSError:
                    # the client cut the connection
                    service.cut_at = time.monotonic()
                    service.cut.set()
                    self.close_connection = True
                    return
                status, content = answer
                if isinstance(content, str):
                    data, kind = content.encode('utf-8'), 'text/plain'
                else:
                    data = json.dumps(content).encode('utf-8')
                    kind = 'application/json'
                self.send_response(status)
                self.send_header('Content-Type', kind)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, answer):
                self.send_response(answer.status)
                self.send_header('Location', answer.location)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def _drip(self, answer):
                data = answer.body.encode('utf-8')
                head = ('HTTP/1.1 %d Dripping\r\nContent-Type: text/plain'
                        '\r\nContent-Length: %d\r\n\r\n' % (
                            answer.status, len(data))).encode('ascii')
                for i in range(len(head + data)):
                    self.wfile.write((head + data)[i:i + 1])
                    if service._release.wait(answer.interval):
                        return

            def _huge(self, answer):
                # a small send buffer: what the server counts as sent is
                # close to what left it
                self.connection.setsockopt(socket.SOL_SOCKET,
                                           socket.SO_SNDBUF, _HUGE_CHUNK)
                self.send_response(answer.status)
                self.send_header('Content-Type', 'application/json')
                if answer.size is None:
                    self.send_header('Transfer-Encoding', 'chunked')
                else:
                    self.send_header('Content-Length', str(answer.size))
                self.end_headers()
                chunk = b'[' * _HUGE_CHUNK
                left = answer.size
                while left is None or left > 0:
                    if service._release.is_set():
                        return
                    piece = chunk if left is None else chunk[:left]
                    if left is None:
                        self.wfile.write(b'%x\r\n%s\r\n' % (
                            len(piece), piece))
                    else:
                        self.wfile.write(piece)
                        left -= len(piece)
                    with service._changed:
                        service.sent_bytes += len(piece)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                pass  # a client gone after a HANG

        self.server = Server(('127.0.0.1', 0), Handler)
        scheme = 'http'
        if self.tls:
            scheme = 'https'
            self.server.socket = tls_context(self).wrap_socket(
                self.server.socket, server_side=True,
                do_handshake_on_connect=False)
        thread = threading.Thread(target=self.server.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  name='fake-http', daemon=True)
        thread.start()
        self.addCleanup(thread.join, test_base.WAIT)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.addCleanup(self._release.set)
        self.url = '%s://127.0.0.1:%d' % (scheme,
                                          self.server.server_address[1])

    def answer(self, *answers):
        """Queue answers, one per request to come."""
        with self._changed:
            self._answers.extend(answers)

    def wait_requests(self, count):
        """Wait for ``count`` requests; the requests."""
        with self._changed:
            if not self._changed.wait_for(
                    lambda: len(self.requests) >= count, test_base.WAIT):
                raise AssertionError('timed out waiting for %d requests'
                                     % count)
            return list(self.requests)


def tls_context(fixture):
    """A server TLS context with a new self-signed certificate.

    For 127.0.0.1, in the PEM file ``fixture.cafile``.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    directory = fixture.useFixture(fixtures.TempDir()).path
    path = os.path.join(directory, 'server.pem')
    with open(path, 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(path)
    fixture.cafile = os.path.join(directory, 'ca.pem')
    with open(fixture.cafile, 'wb') as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return context


class RawService(fixtures.Fixture):
    """Sends ``data`` one byte every ``interval`` s to each client.

    Whatever the client sends is not read. ``cut`` is set (at ``cut_at``)
    when the client closed the connection before the end.
    """

    def __init__(self, data, interval):
        super().__init__()
        self.data = data
        self.interval = interval

    def _setUp(self):
        self.cut = threading.Event()
        self.cut_at = None
        self.connections = 0
        self._release = threading.Event()
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.addCleanup(self._listener.close)
        self.addCleanup(self._release.set)
        thread = threading.Thread(target=self._serve, name='raw-http',
                                  daemon=True)
        thread.start()
        self.url = 'https://127.0.0.1:%d' % self._listener.getsockname()[1]

    def _serve(self):
        while True:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(client,),
                             daemon=True).start()

    def _drip(self, client):
        with client:
            try:
                for i in range(len(self.data)):
                    client.sendall(self.data[i:i + 1])
                    if self._release.wait(self.interval):
                        return
                    # a peer that shut its socket down reads as readable
                    # and empty
                    client.setblocking(False)
                    try:
                        if client.recv(65536) == b'':
                            raise ConnectionResetError('closed')
                    except BlockingIOError:
                        pass
                    finally:
                        client.setblocking(True)
            except OSError:
                self.cut_at = time.monotonic()
                self.cut.set()
