"""Branch names as environment slugs and host names.

A slug must be a DNS label that keeps the namespace ``{client}-{site}-{slug}`` within 63
characters, and two branches must never share one. A branch that is already a short
lowercase label keeps its name (``pv-main``); any other gets a hash of the exact branch
name appended after it is normalised or cut (``Feature/X`` -> ``pv-feature-x-3f2a9c1d``),
so ``Feature/X``, ``feature/x`` and ``feature-x`` stay three previews.
"""

from __future__ import annotations

import hashlib
import re

from django.core.exceptions import ValidationError

from controlpanel.core.validators import DNS_LABEL_MAX

PREFIX = "pv-"  # Keeps preview slugs apart from dev, staging, production and the like.
HASH_LENGTH = 8
BRANCH_MAX = 200
# What git refuses in a ref name (git check-ref-format), plus whitespace.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_NOT_LABEL = re.compile(r"[^a-z0-9]+")


def validate_branch(branch: str) -> str:
    """The branch name as given, or a ValidationError keyed ``branch`` naming the rule."""
    branch = branch if isinstance(branch, str) else ""
    rule = None
    if not branch:
        rule = "Give the branch name."
    elif len(branch) > BRANCH_MAX:
        rule = f"A branch name may be at most {BRANCH_MAX} characters; this one is {len(branch)}."
    elif _REF_FORBIDDEN.search(branch):
        rule = "A branch name may not contain spaces, control characters or ~ ^ : ? * [ \\."
    elif ".." in branch or "@{" in branch or "//" in branch:
        rule = 'A branch name may not contain "..", "@{" or "//".'
    elif branch.startswith(("/", ".", "-")) or branch.endswith(("/", ".", ".lock")):
        rule = 'A branch name may not start with "/", "." or "-", nor end with "/", "." or ".lock".'
    elif not re.search(r"[A-Za-z0-9]", branch):
        rule = "A branch name needs at least one letter or digit."
    if rule:
        raise ValidationError({"branch": ValidationError(rule, code="branch")})
    return branch


def branch_slug(branch: str, *, client_slug: str, site_slug: str) -> str:
    """The environment slug of `branch`'s preview; a ValidationError keyed ``branch`` when
    the name is invalid or the site's slugs leave no room for a preview's namespace."""
    branch = validate_branch(branch)
    room = DNS_LABEL_MAX - len(client_slug) - len(site_slug) - 2 - len(PREFIX)
    if room < HASH_LENGTH + 2:
        raise ValidationError(
            {
                "branch": ValidationError(
                    f"Namespaces are '{{client}}-{{site}}-{{environment}}', at most "
                    f"{DNS_LABEL_MAX} characters; '{client_slug}-{site_slug}-' leaves "
                    f"{max(room + len(PREFIX), 0)} for a preview, which needs "
                    f"{len(PREFIX) + HASH_LENGTH + 2}. Use a shorter site slug.",
                    code="namespace_too_long",
                )
            }
        )
    label = _NOT_LABEL.sub("-", branch.lower()).strip("-")
    if label == branch and len(label) <= room:
        return PREFIX + label
    digest = hashlib.sha256(branch.encode()).hexdigest()[:HASH_LENGTH]
    head = label[: room - HASH_LENGTH - 1].rstrip("-")
    return PREFIX + (f"{head}-{digest}" if head else digest)


def preview_hostname(pattern: str, slug: str) -> str:
    """The host name of a preview: `pattern` with {branch} as the slug without its prefix."""
    return pattern.replace("{branch}", slug[len(PREFIX) :])
