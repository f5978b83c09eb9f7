"""The operator dashboard's logic: per-panel numbers over the service database (stats.py),
refused questions grouped by topic (topics.py) and inline SVG plots (plots.py). The HTTP
side is tutor/api/admin.py; the page is templates/dashboard.html.j2."""
