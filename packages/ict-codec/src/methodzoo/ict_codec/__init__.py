"""methodzoo-ict-codec (under construction)."""
