"""REST API wiring under /api/v1/; each app keeps its own serializers and viewsets."""
