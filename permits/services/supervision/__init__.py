"""Supervision: the figures of the dashboard and of GET /api/v1/stats, and the CSV exports.

- `figures`: every figure, counted from the database (`figures.compute`), typed as `Figures`;
- `decisions`: the figures read from the decision history (time per step, common problems);
- `snapshot`: the figures as page and API serve them, refreshed at most once per max age;
- `exports`: the rows of the CSV exports.

Escalation of overdue work is `permits.services.escalation`; the JSON of GET /api/v1/stats is
built by its view (`permits.views.api.stats`).
"""
