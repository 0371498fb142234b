"""Changes and audit details written for people, not as Python values.

"changes={'permissions': ['write', 'read,write']}" becomes "permissions write → read,write";
times are moments in the console's one format, lists are comma-separated, nothing is None or
True. Every value is stored or typed text, so it is made visible (keytui.text) and rendered
as plain text by the caller.
"""

from __future__ import annotations

from datetime import datetime

from textual.content import Content

from keytui.domain import format_permissions
from keytui.text import visible
from keytui.widgets import tones, when

LABELS = {
    "ip_allowlist": "IP allowlist", "grace_hours": "grace (hours)", "old_secret_valid_until": "old token until",
    "expires_at": "expires", "previous_expires_at": "expired before at", "secrets_ended": "tokens ended",
    "policy_violation": "org policy flag", "expiry_days": "expiry policy (days)", "previous_status": "was",
    "locked_until": "locked until", "sha256": "sha256",
}


def words(value) -> str:
    """One stored value in words: a moment, a list, none, yes/no, a whole number."""
    if value is None or value == [] or value == ():
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(words(v) for v in value)
    if isinstance(value, datetime):
        return when.moment(value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return when.moment(datetime.fromisoformat(value))
        except ValueError:
            pass
    return visible(value)


def label(field: str) -> str:
    return LABELS.get(field, field.replace("_", " "))


def describe_details(details: dict) -> str:
    """An audit entry's details in one line: "permissions write → read,write; owner ml → ci"."""
    parts = []
    for field, value in details.items():
        if value in (None, [], "", {}):
            continue
        if field == "changes" and isinstance(value, dict):
            parts += [f"{label(k)} {words(old)} → {words(new)}" for k, (old, new) in value.items()]
        elif field == "policy_violation" and isinstance(value, list) and len(value) == 2:
            parts.append("org policy flag cleared" if value[1] is None else f"flagged: {words(value[1])}")
        else:
            parts.append(f"{label(field)} {words(value)}")
    return "; ".join(parts)


def change_lines(key, changes: dict) -> list[Content]:
    """Each field an edit changes, old → new, for a confirmation or a notice."""
    was = {"name": key.name, "owner": key.owner, "ip_allowlist": key.ip_allowlist,
           "permissions": key.permissions_text}
    lines = []
    for field, new in changes.items():
        new_words = format_permissions(new) if field == "permissions" else new
        lines.append(Content.assemble((f"{label(field)}: ", tones.STRONG), words(was[field]) or "none", " → ",
                                      words(new_words) or "none"))
    return lines


def alert_content(alert, evidence_shown: int = 12) -> Content:
    """An alert in full (the message wraps; nothing is cut): severity, kind, when, state, and the
    ids of its evidence events."""
    state = (tones.toned(f"acknowledged by {alert.acknowledged_by} {when.moment(alert.acknowledged_at)}", tones.MUTED)
             if alert.acknowledged_at else tones.toned("open", tones.WARN))
    subject = alert.key_name or alert.key_id or alert.ip
    lines = [Content.assemble(tones.severity_word(alert.severity.upper()), " ", tones.plain(alert.kind),
                              f" · raised {when.moment(alert.created_at)} · ", state),
             Content.assemble(tones.plain(f"{subject}: ") if subject else "", tones.plain(alert.message))]
    if alert.evidence:
        shown = ", ".join(map(str, alert.evidence[:evidence_shown]))
        more = " …" if len(alert.evidence) > evidence_shown else ""
        lines.append(tones.toned(f"evidence: {len(alert.evidence)} activity events ({shown}{more})", tones.MUTED))
    if alert.deliveries:
        lines.append(Content.assemble("delivery: ", Content("; ").join(map(delivery_word, alert.deliveries))))
    return Content("\n").join(lines)


DELIVERY_TONE = {"delivered": tones.OK, "pending": tones.WARN, "failed": tones.BAD}


def delivery_word(d) -> Content:
    """One channel's delivery of the alert: delivered, pending (attempts, last error) or failed."""
    detail = f" ({d.attempts} attempts: {d.last_error})" if d.status != "delivered" and d.last_error else ""
    return Content.assemble(tones.toned(d.channel, tones.STRONG), " ", tones.toned(d.status, DELIVERY_TONE.get(d.status, "")),
                            tones.plain(detail) if detail else "")
