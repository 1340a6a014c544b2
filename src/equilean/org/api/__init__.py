"""REST endpoints for the health-system tree and the signed-in user."""
