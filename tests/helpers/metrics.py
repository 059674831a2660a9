"""The series a bot's ``/metrics`` exposes, under the names Prometheus stores them (a counter ``x`` is ``x_total``),
so that what a rule or a dashboard queries can be checked against what the bot really exports."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def series_names(exposition: str) -> set[str]:
    """Every sample name in a Prometheus text exposition."""
    return {sample.name for family in text_string_to_metric_families(exposition) for sample in family.samples}
