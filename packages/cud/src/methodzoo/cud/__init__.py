"""methodzoo-cud (under construction)."""
