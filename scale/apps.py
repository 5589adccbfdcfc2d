"""The scale app: synthetic county data, the page benchmark and the load test's accounts."""

from django.apps import AppConfig


class ScaleConfig(AppConfig):
    """County-scale synthetic data, the page benchmark and the load test."""

    name = "scale"
    verbose_name = "Scale and performance"
