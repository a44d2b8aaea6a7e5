"""methodzoo.rp_har: Wearable activity recognition from modified recurrence-plot images with a frequency-domain angle channel (Zhu, Rahman & Alam, 2023). (being built)."""

__all__: list[str] = []
