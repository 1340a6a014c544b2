"""REST endpoints of interview studies, under /api/v1/studies/."""
