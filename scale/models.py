"""What synthetic data a database holds: the benchmark reports it beside its figures."""

from django.db import models


class ScaleDataset(models.Model):
    """One run of ``generate_scale_data``: which scale, seed and day, how long, how much memory."""

    scale = models.CharField(max_length=20)
    seed = models.BigIntegerField()
    as_of = models.DateField()
    generator_version = models.PositiveIntegerField()
    generated_at = models.DateTimeField()
    seconds = models.FloatField()
    peak_rss_mib = models.FloatField(help_text="The generator process's peak resident memory.")
    counts = models.JSONField(default=dict, help_text="Rows written, by table.")

    class Meta:
        ordering = ["-generated_at"]

    def __str__(self):
        return f"{self.scale} seed {self.seed} as of {self.as_of}"
