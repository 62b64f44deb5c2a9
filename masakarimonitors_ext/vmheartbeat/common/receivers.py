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

"""Bounded keystoneauth sessions for every API the monitor calls.

Masakari, Nova, Mistral and Vitrage (and the Keystone their credentials
go through) receive the monitor's calls; any of them may be misconfigured,
overloaded or hostile. Every keystoneauth session of the monitor comes
from :func:`load_session`, and each HTTP request made through it is
bounded three ways:

* no redirect is followed (keystoneauth follows up to 30, to any host and
  scheme, with the same body and ``X-Auth-Token``): a 3xx answer raises
  :class:`RedirectRefused`;
* the answer's body is read as it arrives, and no further than
  :data:`MAX_ANSWER_BYTES`: a longer one raises :class:`AnswerTooLarge`
  and its connection is closed;
* connecting, the TLS handshake, sending and reading the whole answer share
  one deadline, the group's keystoneauth ``timeout`` (requests' timeout is
  per read: a receiver sending a byte now and then would hold the call for
  ever). At the deadline the socket is shut down and the call raises
  :class:`DeadlineExceeded`. :func:`deadline` bounds several requests (a
  token, version discovery, the call itself) by one deadline in all.

The errors are keystoneauth's ``ClientException`` kinds, so that whatever
handles keystoneauth's errors handles them too. Name resolution is not
bounded here: it is the system resolver's.
"""

import contextlib
import heapq
import itertools
import socket
import threading
import time

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
import requests
from urllib3 import connection as urllib3_connection
from urllib3 import connectionpool
from urllib3 import poolmanager

from masakarimonitors_ext.vmheartbeat.common import guestdata

#: Seconds a request may take in all when its group sets no timeout.
DEFAULT_TIMEOUT = 30.0
#: The most of an answer read. The largest answers the monitor expects are
#: Keystone tokens with their service catalog, some hundreds of KiB in a
#: large cloud.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
#: The answers keystoneauth would follow (a 300 is a version list).
REDIRECTS = frozenset([301, 302, 303, 305, 307, 308])
#: What to do about a redirect.
REDIRECT_HINT = ('redirects are not followed: set endpoint_override (or '
                 'auth_url, for Keystone) to the final URL')

_CHUNK = 65536


class RedirectRefused(ks_exc.ClientException):
    """The receiver answered a redirect, which is not followed."""

    def __init__(self, method, url, status, location):
        self.status_code = status
        self.location = location
        super().__init__('%s %s answered %d, a redirect to %s; %s' % (
            method, guestdata.escape(url, 200), status,
            guestdata.escape(location, 200), REDIRECT_HINT))


class AnswerTooLarge(ks_exc.ClientException):
    """The answer's body is longer than the most read.

    :param response: the ``requests.Response``, closed, whose content is
        the body's first ``limit`` bytes: its status still says whether
        the receiver accepted the request.
    """

    def __init__(self, response, limit):
        self.response = response
        self.status_code = response.status_code
        self.limit = limit
        super().__init__('%s answered %d with more than %d bytes; the rest '
                         'was not read' % (
                             guestdata.escape(response.url, 200),
                             response.status_code, limit))


class DeadlineExceeded(ks_exc.ConnectTimeout):
    """No complete answer within the call's deadline: it was cut.

    A ``ConnectTimeout``, as keystoneauth reports requests' own timeouts.
    """

    def __init__(self, url, seconds):
        self.seconds = seconds
        super().__init__('no complete answer from %s within %.1fs: timed '
                         'out (the timeout bounds the whole call)' % (
                             guestdata.escape(url, 200), seconds))


class _Call:
    """One request's deadline, and the sockets it shuts when it passes."""

    def __init__(self, deadline):
        self.deadline = deadline
        self.expired = False
        self.done = False
        self._guards = []
        self._lock = threading.Lock()

    def attach(self, sock):
        """Shut ``sock`` down when the deadline passes."""
        try:
            # NOTE: a descriptor of our own for the same socket, not the
            # socket object: TLS wraps a socket by detaching its
            # descriptor, and shutdown() acts on the socket whichever
            # descriptor it is given.
            guard = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except OSError:
            return
        with self._lock:
            if self.expired:
                _shut(guard)
            if self.done or self.expired:
                guard.close()
                return
            self._guards.append(guard)

    def expire(self):
        with self._lock:
            if self.done:
                return
            self.expired = True
            for guard in self._guards:
                _shut(guard)

    def finish(self):
        with self._lock:
            self.done = True
            guards, self._guards = self._guards, []
            for guard in guards:
                guard.close()


def _shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Watchdog:
    """One thread that expires the calls whose deadline has passed."""

    def __init__(self):
        self._calls = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread = None

    def watch(self, call):
        with self._changed:
            heapq.heappush(self._calls, (call.deadline, next(self._order),
                                         call))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name='receiver-deadlines', daemon=True)
                self._thread.start()
            self._changed.notify()

    def _next_expired(self):
        with self._changed:
            while True:
                while self._calls and self._calls[0][2].done:
                    heapq.heappop(self._calls)
                if not self._calls:
                    self._changed.wait()
                    continue
                wait = self._calls[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._calls)[2]
                self._changed.wait(wait)

    def _run(self):
        while True:
            self._next_expired().expire()


_WATCHDOG = _Watchdog()
_local = threading.local()


def _current_call():
    return getattr(_local, 'call', None)


@contextlib.contextmanager
def deadline(seconds):
    """Every request made in this thread within it ends by ``seconds``.

    Each request is still bounded by its own session's timeout too.
    ``seconds`` None adds no deadline.
    """
    if seconds is None:
        yield
        return
    outer = getattr(_local, 'deadline', None)
    mine = time.monotonic() + seconds
    _local.deadline = mine if outer is None else min(outer, mine)
    try:
        yield
    finally:
        _local.deadline = outer


class _WatchedConnectionMixin:
    """Attaches its socket to the current call, before any byte is read."""

    def _new_conn(self):
        sock = super()._new_conn()
        call = _current_call()
        if call is not None:
            call.attach(sock)
            self._watched_by = call
        return sock

    def request(self, *args, **kwargs):
        call = _current_call()
        # a kept-alive connection, made during an earlier call
        if (call is not None and self.sock is not None and
                getattr(self, '_watched_by', None) is not call):
            call.attach(self.sock)
            self._watched_by = call
        return super().request(*args, **kwargs)


class _HTTPConnection(_WatchedConnectionMixin,
                      urllib3_connection.HTTPConnection):
    pass


class _HTTPSConnection(_WatchedConnectionMixin,
                       urllib3_connection.HTTPSConnection):
    pass


class _HTTPConnectionPool(connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOL_CLASSES = {'http': _HTTPConnectionPool, 'https': _HTTPSConnectionPool}


def _seconds(timeout, default):
    """The whole call's seconds, from requests' ``timeout`` argument."""
    if isinstance(timeout, tuple):
        parts = [t for t in timeout if t is not None]
        return float(sum(parts)) if parts else default
    if timeout is None:
        return default
    return float(timeout)


class BoundedAdapter(ks_session.TCPKeepAliveAdapter):
    """A requests transport adapter that bounds each request it sends.

    keystoneauth's own adapter (TCP keep-alive), plus: a redirect raises
    :class:`RedirectRefused`, a body longer than ``max_answer_bytes``
    raises :class:`AnswerTooLarge`, and a request not answered in full
    within its timeout (or the current :func:`deadline`) raises
    :class:`DeadlineExceeded`. The body is always read here, whatever
    ``stream`` asks: these sessions carry API calls, not downloads.

    :param default_timeout: seconds for a request sent without a timeout.
    :param max_answer_bytes: the most of a body read
        (:data:`MAX_ANSWER_BYTES` when None).
    """

    def __init__(self, default_timeout=DEFAULT_TIMEOUT,
                 max_answer_bytes=None, **kwargs):
        self.default_timeout = default_timeout
        self.max_answer_bytes = max_answer_bytes or MAX_ANSWER_BYTES
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        # a SOCKS proxy has connection classes of its own
        if (manager.pool_classes_by_scheme is
                poolmanager.pool_classes_by_scheme):
            manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager

    def send(self, request, stream=False, timeout=None, **kwargs):
        seconds = _seconds(timeout, self.default_timeout)
        now = time.monotonic()
        ends = now + seconds
        outer = getattr(_local, 'deadline', None)
        if outer is not None and outer < ends:
            ends = outer
            seconds = max(0.0, outer - now)
            if outer <= now:
                raise DeadlineExceeded(request.url, seconds)
        call = _Call(ends)
        _local.call = call
        _WATCHDOG.watch(call)
        try:
            response = super().send(request, stream=True, timeout=timeout,
                                    **kwargs)
            try:
                content = self._read(request, response)
            except BaseException:
                response.close()
                raise
        except (RedirectRefused, AnswerTooLarge):
            raise
        except Exception as e:
            if call.expired:
                raise DeadlineExceeded(request.url, seconds) from e
            raise
        finally:
            _local.call = None
            call.finish()
        response._content = content
        response._content_consumed = True
        return response

    def _read(self, request, response):
        if response.status_code in REDIRECTS:
            raise RedirectRefused(request.method, request.url,
                                  response.status_code,
                                  response.headers.get('Location', ''))
        chunks = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            chunks.append(chunk)
            if size > self.max_answer_bytes:
                response._content = b''.join(chunks)[:self.max_answer_bytes]
                response._content_consumed = True
                # the rest unread: the connection cannot be used again
                response.raw.close()
                raise AnswerTooLarge(response, self.max_answer_bytes)
        return b''.join(chunks)


def requests_session(default_timeout=DEFAULT_TIMEOUT, max_answer_bytes=None):
    """A ``requests.Session`` whose every request is bounded."""
    session = requests.Session()
    adapter = BoundedAdapter(default_timeout, max_answer_bytes)
    session.mount('https://', adapter)
    session.mount('http://', adapter)
    return session


def load_session(conf, group, auth, default_timeout=DEFAULT_TIMEOUT):
    """A keystoneauth session from ``[group]``, every request bounded.

    No redirect followed, answers of at most :data:`MAX_ANSWER_BYTES`, and
    the group's ``timeout`` (``default_timeout`` when unset) for each
    request in all.
    """
    session = ks_loading.load_session_from_conf_options(
        conf, group, auth=auth, redirect=False,
        session=requests_session(default_timeout))
    if session.timeout is None:
        session.timeout = default_timeout
    return session
