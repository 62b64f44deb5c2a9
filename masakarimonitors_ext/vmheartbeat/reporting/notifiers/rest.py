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

"""Notifiers that call an OpenStack REST API through keystoneauth."""

import threading

from keystoneauth1 import exceptions as ks_exc
from requests import exceptions as requests_exc

from masakarimonitors_ext import exception
from masakarimonitors_ext.vmheartbeat.common import guestdata
from masakarimonitors_ext.vmheartbeat.common import keystone
from masakarimonitors_ext.vmheartbeat.common import receivers
from masakarimonitors_ext.vmheartbeat.reporting.notifiers import base

#: errors of the configuration, which no later try can change
_MISCONFIGURED = (ks_exc.OptionError, ks_exc.NoMatchingPlugin,
                  requests_exc.MissingSchema, requests_exc.InvalidSchema,
                  requests_exc.InvalidURL)
#: answers that no later try can change: the request or the
#: configuration is wrong
PERMANENT = frozenset([400, 403, 404, 405, 413, 415, 422])


class RestNotifier(base.Notifier):
    """Posts to an OpenStack API; keystoneauth errors become ours.

    Unreachable, timed out, 5xx, 401 (an expired token), 408, 409 and 429
    are transient: trying again may succeed. The answers in
    :data:`PERMANENT` are not, nor is a redirect, which is never followed.
    Every call is bounded by the group's keystoneauth ``timeout`` in all,
    and its answer's size by ``receivers.MAX_ANSWER_BYTES``.

    :param conf: the configuration.
    :param adapter: a keystoneauth adapter (made from :attr:`GROUP` when
        None).
    """

    #: the configuration group of the service's keystoneauth options
    GROUP = None
    #: the service's name, in messages
    SERVICE = None

    def __init__(self, conf, adapter=None):
        super().__init__(conf)
        self._adapter = adapter
        self._lock = threading.Lock()

    @property
    def adapter(self):
        with self._lock:
            if self._adapter is None:
                self._adapter = keystone.get_adapter(self.conf, self.GROUP)
            return self._adapter

    def _forget_adapter(self):
        with self._lock:
            self._adapter = None

    def post(self, path, body, what):
        """POST ``body`` (JSON) to ``path``; the response when 2xx.

        The whole call, a token and version discovery included, ends
        within the group's ``timeout``. A redirect is refused for good:
        the endpoint is wrong. An answer longer than
        ``receivers.MAX_ANSWER_BYTES`` is judged by its status alone, and
        the response returned for a 2xx has only the body's beginning.

        :param what: what is posted, for messages.
        :raises: TransientNotificationError, PermanentNotificationError.
        """
        try:
            with receivers.deadline(self.timeout):
                response = self.adapter.post(path, json=body,
                                             raise_exc=False)
        except _MISCONFIGURED as e:
            raise exception.PermanentNotificationError(
                'cannot call %s: check the [%s] options: %s: %s' % (
                    self.SERVICE, self.GROUP, type(e).__name__,
                    guestdata.escape(e, 300)))
        except receivers.RedirectRefused as e:
            raise exception.PermanentNotificationError(
                'cannot post the %s to %s: %s (see the [%s] options)' % (
                    what, self.SERVICE, e, self.GROUP))
        except receivers.AnswerTooLarge as e:
            # NOTE: a 2xx says the receiver took the request, and nothing
            # in its body is needed to know that: the delivery is done.
            response = e.response
        except ks_exc.ClientException as e:
            self._forget_adapter()
            raise exception.TransientNotificationError(
                '%s not reachable: %s: %s' % (self.SERVICE,
                                              type(e).__name__,
                                              guestdata.escape(e, 300)))
        except OSError as e:
            self._forget_adapter()
            raise exception.TransientNotificationError(
                '%s not reachable: %s' % (self.SERVICE,
                                          guestdata.escape(e, 300)))
        status = response.status_code
        if status < 300:
            return response
        text = guestdata.escape(' '.join(response.text[:300].split()), 300)
        if status in PERMANENT:
            raise exception.PermanentNotificationError(
                '%s refused the %s (%s: %s)%s' % (
                    self.SERVICE, what, status, text, self.hint(status)))
        if status == 401:
            self._forget_adapter()
        raise exception.TransientNotificationError(
            '%s answered %s to the %s: %s' % (self.SERVICE, status, what,
                                              text))

    @property
    def timeout(self):
        """Seconds one delivery may take in all: the group's ``timeout``."""
        return (getattr(self.conf, self.GROUP).timeout or
                receivers.DEFAULT_TIMEOUT)

    def hint(self, status):
        """What the operator should look at after this refusal."""
        return ''

    def check(self):
        try:
            endpoint = self.adapter.get_endpoint()
        except Exception as e:
            self._forget_adapter()
            return '%s: %s' % (type(e).__name__, guestdata.escape(e, 300))
        if not endpoint:
            return ('no %s endpoint: set [%s] endpoint_override or '
                    'service_type' % (self.SERVICE, self.GROUP))
        return None
