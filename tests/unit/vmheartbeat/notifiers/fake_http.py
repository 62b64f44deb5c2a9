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
"""

import collections
import http.server
import json
import socket
import threading

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


_Request = collections.namedtuple('Request', 'method path headers body')


class Request(_Request):
    """One request: its headers with lower-case names, its body bytes."""

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
    JSON) or a str (sent as text), or :data:`HANG`. When none is queued,
    ``default`` is answered.
    """

    def __init__(self, default=(200, {})):
        super().__init__()
        self.default = default

    def _setUp(self):
        self.requests = []
        self._answers = collections.deque()
        self._changed = threading.Condition()
        self._release = threading.Event()
        #: set when a request got the answer HANG
        self.hanging = threading.Event()
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                with service._changed:
                    service.requests.append(Request(
                        self.command, self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body))
                    answer = (service._answers.popleft()
                              if service._answers else service.default)
                    service._changed.notify_all()
                if answer is HANG:
                    service.hanging.set()
                    service._release.wait(test_base.WAIT)
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

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                pass  # a client gone after a HANG

        self.server = Server(('127.0.0.1', 0), Handler)
        thread = threading.Thread(target=self.server.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  name='fake-http', daemon=True)
        thread.start()
        self.addCleanup(thread.join, test_base.WAIT)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.addCleanup(self._release.set)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]

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
