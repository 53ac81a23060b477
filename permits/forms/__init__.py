"""HTML forms (Flask-WTF, so every one carries a CSRF token). Domain rules live in the services.

One module per group of pages: `accounts` (login, registration, the user's own account),
`applications` (an enterprise's applications and uploads), `review` (decisions),
`revocations` (single and mass revocation), `admin` (organisation, workflows, users,
supervision exports); `common` has what they share (ConfirmForm, showing the services' messages
next to their fields).
"""
