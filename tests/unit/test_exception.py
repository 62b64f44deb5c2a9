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

from masakarimonitors_ext import exception
from tests.unit import base


class ExceptionTestCase(base.TestCase):

    def test_configuration_error_names_the_option(self):
        error = exception.ConfigurationError('vmheartbeat.timeout',
                                             'longer than interval')
        self.assertEqual('invalid configuration: [vmheartbeat] timeout: '
                         'longer than interval', str(error))
        self.assertEqual('vmheartbeat.timeout', error.option)

    def test_configuration_error_of_a_default_option(self):
        self.assertIn('[DEFAULT] hostname', str(
            exception.ConfigurationError('hostname', 'empty')))

    def test_notification_errors(self):
        transient = exception.TransientNotificationError('503')
        permanent = exception.PermanentNotificationError('400')
        self.assertIsInstance(transient, exception.NotificationError)
        self.assertIsInstance(permanent, exception.NotificationError)
        self.assertNotIsInstance(permanent,
                                 exception.TransientNotificationError)
        self.assertEqual('503', str(transient))

    def test_escalation_errors_name_the_instance(self):
        for error in (exception.InstanceAnswered('x'),
                      exception.InstanceSuppressed('x', 'paused'),
                      exception.ProbeMissed('x', 'timed out')):
            self.assertEqual('x', error.instance_uuid)
            self.assertIn('instance x ', str(error))
