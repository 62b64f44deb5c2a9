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

"""Names of flows, tasks, store keys and events, in one place.

Flow and task names carry the instance UUID so that every log line says
which instance it is about.
"""

# Escalation flows and tasks
ESCALATION_FLOW = 'vmhb-escalate'
REPROBE_SUBFLOW = 'vmhb-reprobe'
REPROBE_RETRY = 'vmhb-reprobe-retry'
REPROBE_TASK = 'vmhb-reprobe-instance'
CONFIRM_DOMAIN_TASK = 'vmhb-confirm-domain'
CONFIRM_PROBE_TASK = 'vmhb-confirm-last-probe'
NOTIFY_SUBFLOW = 'vmhb-notify'
NOTIFY_RETRY = 'vmhb-notify-retry'
NOTIFY_TASK = 'vmhb-notify-instance'
LOOK_AGAIN_TASK = 'vmhb-look-again'
QUEUE_TASK = 'vmhb-queue-failure'

# Store keys
INSTANCE_UUID = 'instance_uuid'
HOSTNAME = 'hostname'
GENERATED_TIME = 'generated_time'
EPISODE_STARTED = 'episode_started'
EVIDENCE = 'evidence'
PROBE_TIMEOUT = 'probe_timeout'
CHECK = 'check'
FAILURE_CLASS = 'failure_class'
RECOVER = 'recover'
CHECK_SETTINGS = 'check_settings'
#: the application's status when the failure was found (None: unknown)
APP_STATUS = 'app_status'
RECOVERY_RUN = 'recovery_run'
REPROBE_ATTEMPT = 'reprobe_attempt'
REPROBE_RESULT = 'reprobe_result'
DOMAIN_STATE = 'domain_state'
LAST_PROBE = 'last_probe'
#: prefix of the store names of what each notifier's delivery gave
DELIVERY_PREFIX = 'delivery-'

# Masakari's VM notification, the one its instance-recovery flow acts on
NOTIFICATION_TYPE_VM = 'VM'
EVENT_GUEST_AGENT_ERROR = 'QEMU_GUEST_AGENT_ERROR'
VIR_DOMAIN_EVENT_STOPPED_FAILED = 'STOPPED_FAILED'

# Domain events the inventory reports
EVENT_STARTED = 'started'
EVENT_RESUMED = 'resumed'
EVENT_SUSPENDED = 'suspended'
EVENT_REBOOTED = 'rebooted'
EVENT_STOPPED = 'stopped'
EVENT_REDEFINED = 'redefined'
EVENT_UNDEFINED = 'undefined'
EVENT_AGENT_CONNECTED = 'agent-connected'
EVENT_AGENT_DISCONNECTED = 'agent-disconnected'

GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0'


def name_for(prefix, instance_uuid):
    return '%s-%s' % (prefix, instance_uuid)
