"""The App Home: the admin page for workspace admins (channel policies, spend, who changed
what) and, for everyone, what the bot is, which models it may use and where people's text
goes. Views are built from plain data (`views`, `policy_form`); `publish` reads that data and
calls Slack; `admins` decides who is an admin.

Imports `gateway` (policies, ledger), `chatops` settings and messages; never `workers`.
"""

__all__: list[str] = []
