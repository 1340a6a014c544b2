"""The analytics core: measures, sources, the store and statistics. It never imports Django."""
