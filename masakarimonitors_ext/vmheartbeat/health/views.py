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

"""What the status shows of one instance record, as JSON-ready values."""

from masakarimonitors_ext.vmheartbeat.common import checks
from masakarimonitors_ext.vmheartbeat.health import machine
from masakarimonitors_ext.vmheartbeat import verdicts

#: the state shown for a reported failure of a class set to report only:
#: every required notifier has it, but Masakari was not asked to recover
REPORTED_ONLY = 'reported_only'
#: the state of a failure the recovery guards hold
ON_HOLD = machine.ON_HOLD
#: the application's status when no answer of it stands (see
#: ``machine.InstanceHealth.app_status_now``)
APP_UNKNOWN = 'unknown'


def describe(record, now, escalating, recovery=None):
    """One ``instances.Instance`` record as the status shows it.

    Its ``state`` is the health state, except that a reported failure of
    a class the instance reports only (Masakari was not asked to recover
    it, by the flavor or by the recovery guards) is :data:`REPORTED_ONLY`,
    not ``reported``; a failure the guards hold is ``on_hold``. Its
    ``app_status`` is the application's status only while its last
    answer stands, else
    :data:`APP_UNKNOWN` (None without an application heartbeat), and
    ``app_status_age`` the seconds since that last answer (None before
    any).

    :param now: ``time.monotonic()`` the ages are counted from.
    :param escalating: an escalation of the instance runs.
    :param recovery: its recovery budget as the recovery guards describe
        it (``guards.RecoveryGuards.describe``), None without guards.
    """
    entry, decision = record.health, record.decision
    if decision is not None:
        reason = decision.reason
    else:
        reason = 'being adopted' if record.adopting else 'not decided'
    item = {'instance_uuid': record.uuid,
            'name': getattr(record.domain, 'name', None),
            'watched': entry is not None, 'reason': reason}
    if entry is None:
        return item
    app_status, app_details = entry.app_status_now(now)
    answered_at = entry.app_status_at
    if app_status is None and (checks.APP in entry.checks or
                               answered_at is not None):
        app_status = APP_UNKNOWN
    shown = entry.state
    permit = record.permit
    if shown == machine.REPORTED and (
            not record.recovers(entry.failure_class) or (
                permit is not None and
                permit.permission is not verdicts.Permission.RECOVER)):
        shown = REPORTED_ONLY
    item.update(
        state=shown, suppressed_because=entry.suppress_reason,
        failure_class=entry.failure_class, failed_check=entry.failed_check,
        escalating=escalating, app_status=app_status,
        app_details=app_details,
        app_status_age=(None if answered_at is None
                        else round(now - answered_at, 3)),
        report_only=sorted(getattr(decision, 'report_only', ())),
        recovery=recovery, checks={})
    for kind, state in entry.checks.items():
        last = state.last
        item['checks'][kind] = {
            'interval': state.settings.interval,
            'timeout': state.settings.timeout,
            'failure_threshold': state.settings.failure_threshold,
            'misses': state.misses,
            'last': None if last is None else {
                'outcome': last.outcome.value, 'detail': last.detail,
                'status': last.status, 'details': last.details,
                'age': round(now - state.last_at, 3)}}
    return item
