"""The metrics CloudWatch alarms watch, emitted with the one dimension set the alarms name.

An alarm on a custom metric matches exactly one set of dimensions. A handler's Powertools `Metrics` puts
its own dimensions (a failed state, a category, a workflow step) on every metric it flushes, so a metric
an alarm watches is emitted once more on its own, with `service` (POWERTOOLS_SERVICE_NAME) as its only
dimension: the set template.yaml's alarms and dashboard use. The detailed breakdown a handler adds stays
as it is, under its own dimensions."""

from __future__ import annotations

from aws_lambda_powertools import Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit


def count_for_alarm(metrics: Metrics, name: str) -> None:
    """Count one `name` in the handler's namespace, dimensioned by the handler's service alone.

    Flushed at once (its own EMF record), whatever the handler does next."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="service", value=str(metrics.service))
