"""Log sources, imports, request events and usage rollups."""
