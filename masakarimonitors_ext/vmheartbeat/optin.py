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

"""Which instances are watched, and with which settings.

With ``[vmheartbeat] opt_in = flavor`` an instance is watched when its
flavor's extra spec ``masakari:vm_heartbeat`` (the key is configurable) is
true; the flavor may also override the interval, timeout and failure
threshold. Nova is asked through openstacksdk; its answers are cached per
instance, and when Nova cannot be reached the last known answer is kept.
"""

import abc
import dataclasses
import threading
import time

from keystoneauth1 import loading as ks_loading
import openstack.connection
from openstack import exceptions as sdk_exc
from oslo_log import log as logging
from oslo_utils import strutils

from masakarimonitors_ext import exception

LOG = logging.getLogger(__name__)

_SUFFIX_TYPES = (('_interval', 'interval', float),
                 ('_timeout', 'timeout', float),
                 ('_failure_threshold', 'failure_threshold', int))


@dataclasses.dataclass(frozen=True)
class InstanceSettings:
    """How one instance is heartbeated."""

    interval: float
    timeout: float
    failure_threshold: int


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether an instance is watched.

    :param watched: True to heartbeat it.
    :param settings: its :class:`InstanceSettings` when watched.
    :param reason: why, for the logs.
    :param problems: bad extra-spec values that were replaced by defaults.
    """

    watched: bool
    settings: InstanceSettings = None
    reason: str = ''
    problems: tuple = ()


class OptInUnknown(exception.VMHeartbeatError):
    """Nova could not say whether an instance is watched; ask again later."""


def default_settings(conf):
    group = conf.vmheartbeat
    return InstanceSettings(group.interval, group.timeout,
                            group.failure_threshold)


def decide_from_extra_specs(extra_specs, key, defaults):
    """Read the opt-in and the overrides from a flavor's extra specs.

    Bad values never stop the monitor: each is reported in ``problems``
    and the default is used instead.
    """
    extra_specs = extra_specs or {}
    problems = []
    raw = extra_specs.get(key)
    if raw is None:
        return Decision(False, reason='flavor has no %s extra spec' % key)
    try:
        watched = strutils.bool_from_string(raw, strict=True)
    except ValueError:
        return Decision(False, reason='flavor extra spec %s=%r is not '
                        'true or false' % (key, raw),
                        problems=('%s=%r is not true or false' % (key, raw),))
    if not watched:
        return Decision(False, reason='flavor extra spec %s=%s' % (key, raw))

    values = dataclasses.asdict(defaults)
    for suffix, field, cast in _SUFFIX_TYPES:
        spec = key + suffix
        if spec not in extra_specs:
            continue
        try:
            value = cast(extra_specs[spec])
            if value <= 0 or value != value or value > 3600:
                raise ValueError()
        except (TypeError, ValueError):
            problems.append('%s=%r is not a positive number of at most '
                            '3600' % (spec, extra_specs[spec]))
            continue
        values[field] = value
    settings = InstanceSettings(**values)
    if settings.timeout > settings.interval:
        problems.append('timeout %s is longer than interval %s' % (
            settings.timeout, settings.interval))
        settings = defaults
    return Decision(True, settings, 'flavor extra spec %s=%s' % (key, raw),
                    tuple(problems))


class OptInPolicy(metaclass=abc.ABCMeta):
    """Decides which domains are heartbeated."""

    @abc.abstractmethod
    def decide(self, instance_uuid, refresh=False):
        """Return the :class:`Decision` for one instance.

        May block on a remote API; never called on the heartbeat path.

        :param refresh: ignore any cached answer (the domain was redefined).
        :raises: OptInUnknown when no answer can be had now.
        """

    def task_state(self, instance_uuid):
        """The instance's lifecycle operation in progress, or None.

        Used to confirm a failure; returns None when unknown.
        """
        return None

    def needs_refresh(self, instance_uuid):
        """True when a cached answer about the instance is too old."""
        return False

    def forget(self, instance_uuid):
        """Drop what is cached about an instance that is gone."""


class AllOptIn(OptInPolicy):
    """Every running domain with a guest agent channel, default settings."""

    def __init__(self, conf):
        self._decision = Decision(True, default_settings(conf),
                                  'opt_in = all')

    def decide(self, instance_uuid, refresh=False):
        return self._decision


def make_nova_connection(conf):
    """An openstacksdk connection to Nova from the [nova] options.

    Without an auth_type in [nova], the [api] credentials are used.
    """
    auth = (ks_loading.load_auth_from_conf_options(conf, 'nova') or
            ks_loading.load_auth_from_conf_options(conf, 'api'))
    session = ks_loading.load_session_from_conf_options(conf, 'nova',
                                                        auth=auth)
    kwargs = {'compute_api_version': '2',
              'compute_default_microversion': conf.nova.api_microversion}
    if conf.nova.endpoint_override:
        kwargs['compute_endpoint_override'] = conf.nova.endpoint_override
    if conf.nova.valid_interfaces:
        kwargs['interface'] = conf.nova.valid_interfaces[0]
    return openstack.connection.Connection(
        session=session, region_name=conf.nova.region_name, **kwargs)


class FlavorOptIn(OptInPolicy):
    """Instances whose flavor carries the opt-in extra spec.

    :param conf: the configuration.
    :param connection: an openstacksdk connection (made from [nova] when
        None).
    """

    def __init__(self, conf, connection=None, clock=time.monotonic):
        self._key = conf.vmheartbeat.extra_spec_key
        self._defaults = default_settings(conf)
        self._max_age = conf.vmheartbeat.optin_refresh_interval
        self._conf = conf
        self._conn = connection
        self._clock = clock
        self._cache = {}
        self._warned = set()
        self._lock = threading.Lock()

    @property
    def connection(self):
        if self._conn is None:
            self._conn = make_nova_connection(self._conf)
        return self._conn

    def decide(self, instance_uuid, refresh=False):
        now = self._clock()
        with self._lock:
            cached = self._cache.get(instance_uuid)
        if cached and not refresh and now - cached[1] < self._max_age:
            return cached[0]
        try:
            decision = self._ask_nova(instance_uuid)
        except (sdk_exc.SDKException, OSError, ValueError) as e:
            if cached:
                LOG.warning('Nova did not answer about instance %s (%s); '
                            'keeping the last known answer: %s',
                            instance_uuid, e, cached[0].reason)
                return cached[0]
            raise OptInUnknown('cannot ask Nova about instance %s: %s' % (
                instance_uuid, e))
        if decision.problems and instance_uuid not in self._warned:
            self._warned.add(instance_uuid)
            LOG.warning('Instance %s: bad heartbeat extra specs, defaults '
                        'used instead: %s', instance_uuid,
                        '; '.join(decision.problems))
        with self._lock:
            self._cache[instance_uuid] = (decision, now)
        return decision

    def _ask_nova(self, instance_uuid):
        try:
            server = self.connection.compute.get_server(instance_uuid)
        except sdk_exc.NotFoundException:
            return Decision(False, reason='not a Nova instance')
        flavor = server.flavor or {}
        extra_specs = flavor.get('extra_specs')
        if extra_specs is None:
            raise ValueError('Nova returned no flavor extra specs (needs '
                             'compute microversion 2.47 or later)')
        return decide_from_extra_specs(extra_specs, self._key,
                                       self._defaults)

    def needs_refresh(self, instance_uuid):
        with self._lock:
            cached = self._cache.get(instance_uuid)
        return (cached is not None and
                self._clock() - cached[1] >= self._max_age)

    def task_state(self, instance_uuid):
        try:
            server = self.connection.compute.get_server(instance_uuid)
        except (sdk_exc.SDKException, OSError) as e:
            LOG.info('Cannot read the task state of instance %s from '
                     'Nova: %s', instance_uuid, e)
            return None
        return server.task_state

    def forget(self, instance_uuid):
        with self._lock:
            self._cache.pop(instance_uuid, None)
        self._warned.discard(instance_uuid)


def make_policy(conf):
    from masakarimonitors_ext.conf import vmheartbeat as vmhb_conf
    if conf.vmheartbeat.opt_in == vmhb_conf.OPT_IN_ALL:
        return AllOptIn(conf)
    return FlavorOptIn(conf)
