"""Live data from outside services (self-service bikes, GBFS)."""
