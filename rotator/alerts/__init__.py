"""Alert delivery: adapters that format the domain's ``Alert``/``Notification`` for each receiver.

The words a person reads come from the alert itself (``rotator.domain.conditions``); sinks only format them.
A ``Dispatcher`` sends to every sink at once; each sink takes its own options (the composition root builds them
from the config).
"""

from rotator.alerts._http import HttpOptions
from rotator.alerts.alertmanager import AlertmanagerSink
from rotator.alerts.base import Sink
from rotator.alerts.dispatch import Delivery, Dispatcher, OnDelivery, Route
from rotator.alerts.errors import (
    DeliveryError,
    SinkRateLimitedError,
    SinkRejectedError,
    SinkTimeoutError,
    SinkUnavailableError,
)
from rotator.alerts.log_sink import LogSink
from rotator.alerts.pagerduty import PagerDutySink
from rotator.alerts.routing import AlertFilter
from rotator.alerts.slack import SlackSink
from rotator.alerts.webhook import WebhookSink
from rotator.retry import RetryPolicy

__all__ = [
    "AlertFilter",
    "AlertmanagerSink",
    "Delivery",
    "DeliveryError",
    "Dispatcher",
    "HttpOptions",
    "LogSink",
    "OnDelivery",
    "PagerDutySink",
    "RetryPolicy",
    "Route",
    "Sink",
    "SinkRateLimitedError",
    "SinkRejectedError",
    "SinkTimeoutError",
    "SinkUnavailableError",
    "SlackSink",
    "WebhookSink",
]
