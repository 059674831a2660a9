"""Notifications: Telegram and a generic webhook, for fills, stops, rejections, the daily-loss stop, task crashes and
readiness changes. Messages wait in a bounded queue and are sent by their own task, so a slow or failing receiver
never delays trading."""

from ictbot.notify.notifier import Notifier, describe

__all__ = ["Notifier", "describe"]
