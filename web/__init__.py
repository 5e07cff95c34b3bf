"""The web app (FastAPI, Jinja2, htmx) and the JSON API: pages read the read models, and
commands go to the application."""
