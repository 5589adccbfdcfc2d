from django.apps import AppConfig


class ScaleConfig(AppConfig):
    """County-scale synthetic data, the page benchmark and the load test (issue 8)."""

    name = "scale"
    verbose_name = "Scale and performance"
