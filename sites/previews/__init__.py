"""Preview environments: a short-lived environment per branch, asked for by CI.

A preview is an ordinary Environment (``is_preview``, with its branch) made, deployed and
destroyed through the environment services; this package adds the site's preview settings
(models), branch slugs (naming), the CI-facing services and the TTL sweep (tasks).
"""
