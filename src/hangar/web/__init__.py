"""The web console: server-rendered Jinja2 pages enhanced with htmx."""
