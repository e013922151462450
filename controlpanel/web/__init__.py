"""The web UI: sign-in, the client self-service portal and the agency staff console.

Views here are thin: they check what a person may see (`.for_user`), call the services and
actions of the other apps, and map their field-keyed errors onto forms.
"""
