"""Alert delivery: adapters that format the domain's ``Alert``/``Notification`` for each receiver.

The words a person reads come from the alert itself (``rotator.domain.conditions``); sinks only format them.
``build_sinks`` turns the ``alerts:`` config into a ``Dispatcher`` that sends to every sink at once.
"""

from rotator.alerts._http import HttpOptions, RetryPolicy
from rotator.alerts.alertmanager import AlertmanagerSink
from rotator.alerts.base import Sink
from rotator.alerts.dispatch import Delivery, Dispatcher, OnDelivery, Resolve, Route, build_sinks
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
    "Resolve",
    "RetryPolicy",
    "Route",
    "Sink",
    "SinkRateLimitedError",
    "SinkRejectedError",
    "SinkTimeoutError",
    "SinkUnavailableError",
    "SlackSink",
    "WebhookSink",
    "build_sinks",
]
