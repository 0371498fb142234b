"""Security & rotation policies (spec section 6): each policy a toggle with its thresholds.

Every value is parsed by ``keytui.service.policies.parse_setting`` as it is typed, so a bad threshold
is named next to its field before anything is saved; saving goes through the app's
``perform`` (read-only refusal, audit in the service). The active org policy is shown below,
with "Apply Org Policy" loading a TOML file and showing its violation report first.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Static

from keytui.domain import Environment, InputError
from keytui.keymap import POLICIES_BINDINGS
from keytui.service.orgpolicy import EnvRules
from keytui.service.policies import POLICIES, parse_setting
from keytui.screens.dialogs import ConfirmDialog, TextPrompt
from keytui.screens.page import PageScreen
from keytui.widgets import tones
from keytui.widgets.toggle_row import RowNavigation, ToggleRow

# (policy, label, thresholds as (setting, words before the field, words after))
POLICY_ROWS = (
    ("auto_rotation", "Auto Rotation", (("auto_rotation_days", "rotate", "days before expiry"),)),
    ("expiry_alerts", "Expiry Alerts", (("expiry_alert_days", "alert", "days before expiry"),)),
    ("usage_monitoring", "Usage Monitoring", ()),
    ("suspicious_detection", "Suspicious Activity Detection",
     (("suspicious_failures", "a burst is", "failed verifications"),
      ("suspicious_window_minutes", "within", "minutes"))),
)
# When a key leaks: (policy, label, word when on, word when off)
LEAK_ROWS = (
    ("leak_response", "Leaked live token", "revoke", "alert only"),
    ("canary_cooling", "Cool off canary callers", "enabled", "disabled"),
)
# Policies whose value is a word, shown as a toggle: (value when on, value when off)
CHOICES = {"leak_response": ("revoke", "alert"),
           **{f"ip_locking.{env.value}": ("required", "optional") for env in Environment}}
LABEL_WIDTH = 30
REPORT_LINES = 10
# Turning these off blinds the console: asked for confirmation, saying what is lost.
BLINDING = {
    "usage_monitoring": "Verifications stop being recorded one by one: the activity log shows nothing new and "
                        "suspicious-activity detection has nothing to look at (hourly counts and last-used times "
                        "go on).",
    "suspicious_detection": "The watch stops looking for bursts of failures, tokens used from outside their "
                            "allowlist, revoked or expired keys presented and cross-environment use: no alert is "
                            "raised for any of them.",
}


def setting_words(name: str, value) -> str:
    """A saved setting for people: "Usage Monitoring disabled", "Expiry Alerts: alert 14 days before expiry"."""
    for policy, label, thresholds in POLICY_ROWS:
        if name == policy:
            return f"{label} {'enabled' if value else 'disabled'}"
        for setting, before, after in thresholds:
            if name == setting:
                return f"{label}: {before} {value} {after}"
    for policy, label, on, off in LEAK_ROWS:
        if name == policy:
            return f"{label}: {on if value in (True, CHOICES.get(policy, (True,))[0]) else off}"
    if name.startswith("ip_locking."):
        return f"IP Locking in {name.split('.', 1)[1]} {value}"
    return f"{name.replace('_', ' ')} {value}"


def _dom_id(setting: str) -> str:
    return setting.replace(".", "-")


class PoliciesScreen(RowNavigation, PageScreen):
    PAGE = "policies"
    LOAD_WHAT = "the policies"
    BINDINGS = POLICIES_BINDINGS

    def compose_page(self) -> ComposeResult:
        with VerticalScroll(id="policies-page", classes="page-body"):
            yield Static("Security & rotation policies", classes="section-title first")
            for name, label, thresholds in POLICY_ROWS:
                yield ToggleRow(label, POLICIES[name].help, name=name, id=f"policy-{name}",
                                label_width=LABEL_WIDTH, on_word="enabled", off_word="disabled")
                if thresholds:
                    with Horizontal(classes="policy-row"):
                        yield Static("    ", classes="threshold-label")
                        for setting, before, after in thresholds:
                            yield Static(before, classes="threshold-label")
                            yield Input(name=setting, id=f"set-{setting}", compact=True, classes="threshold")
                            yield Static(after, classes="threshold-label")
                    for setting, _, _ in thresholds:
                        yield Static("", id=f"err-{setting}", classes="threshold-error")
            yield Static("IP Locking (per environment)", classes="section-title")
            for env in Environment:
                setting = f"ip_locking.{env.value}"
                yield ToggleRow(env.label, POLICIES[setting].help,
                                name=setting, id=f"policy-{_dom_id(setting)}", label_width=LABEL_WIDTH,
                                on_word="required", off_word="optional")
            yield Static("When a key leaks", classes="section-title")
            for name, label, on_word, off_word in LEAK_ROWS:
                yield ToggleRow(label, POLICIES[name].help, name=name, id=f"policy-{name}", label_width=LABEL_WIDTH,
                                on_word=on_word, off_word=off_word)
            yield Static("Active org policy", classes="section-title")
            yield Static("", id="org-policy")
        yield Static("", id="policy-message", classes="message")  # below the scroll: always in sight

    def on_mount(self) -> None:
        for error in self.query(".threshold-error"):
            error.display = False

    def read_ahead_key(self) -> tuple:
        return ()

    def refresh_data(self) -> None:
        vault = self.app.vault
        self.load(lambda: (vault.policy_settings(), vault.org_policy()), self._show)

    def _show(self, loaded: tuple) -> None:
        values, doc = loaded
        for row in self.query(ToggleRow).results(ToggleRow):
            row.value = values[row.name] == CHOICES.get(row.name, (True,))[0]
        for field in self.query(".threshold").results(Input):
            if not field.has_focus:
                field.value = str(values[field.name])
        self.query_one("#org-policy", Static).update(org_policy_text(doc))

    # ------------------------------------------------------------------ changes
    def on_toggle_row_toggled(self, event: ToggleRow.Toggled) -> None:
        event.stop()
        row = event.row
        value = CHOICES[row.name][0 if event.wanted else 1] if row.name in CHOICES else event.wanted
        if row.name in BLINDING and not event.wanted:
            self.app.push_screen(ConfirmDialog(f"Turn {row.label} off?", BLINDING[row.name], confirm_label="Turn off"),
                                 lambda ok: self._save(row.name, value) if ok else self._message("Nothing changed."))
            return
        self._save(row.name, value)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.name in POLICIES:
            self._check(event.input)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.name in POLICIES and self._check(event.input):
            self._save(event.input.name, event.input.value)

    def _check(self, field: Input) -> bool:
        """Validate one threshold as typed; the error sits under its row, naming what is allowed."""
        error = self.query_one(f"#err-{field.name}", Static)
        try:
            parse_setting(field.name, field.value)
        except InputError as exc:
            error.update(tones.plain(f"    {exc}"))
            error.display = True
            field.add_class("-invalid")
            return False
        error.display = False
        field.remove_class("-invalid")
        return True

    def _save(self, name: str, value) -> None:
        self.app.perform(f"Policy {name}", lambda _code: self.app.vault.set_policy(name, value), self._saved,
                         on_error=self._refused)

    def _saved(self, result: tuple) -> None:
        self._message(f"Saved: {setting_words(*result)} (audited).")

    def _refused(self, exc: Exception) -> bool:
        self._message(str(exc), error=True)
        return True

    def _message(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#policy-message", Static)
        message.update(tones.plain(text))
        message.set_class(error, "-error")
        message.set_class(not error, "-ok")

    # ------------------------------------------------------------------ org policy
    def action_apply_org_policy(self) -> None:
        """Path, then the violation report (nothing changed yet), then apply on confirmation."""
        if self.app.refuse_read_only("Apply Org Policy"):
            return
        self.app.push_screen(TextPrompt("Apply Org Policy", "Path of the org policy TOML file:",
                                        validate=read_policy_file), self._preview)

    def _preview(self, path: str | None) -> None:
        if path is None:
            return
        text = read_policy_file(path)
        try:
            report = self.app.vault.preview_org_policy(text)
        except InputError as exc:
            self._message(str(exc), error=True)
            return
        self.app.push_screen(ConfirmDialog(f"Apply org policy {report.policy.name!r}?", report_content(report),
                                           confirm_label="Apply"),
                             lambda ok: self._apply(text) if ok else self._message("Org policy not applied."))

    def _apply(self, text: str) -> None:
        self.app.perform("Apply Org Policy", lambda _code: self.app.vault.apply_org_policy(text), self._applied,
                         on_error=self._refused)

    def _applied(self, report) -> None:
        self._message(f"Applied {report.policy.name!r}: {report.checked} live keys checked, "
                      f"{len(report.violations)} violate it (flagged in the registry). Audited.")


def read_policy_file(path: str) -> str:
    """The file's text, or InputError naming the problem (shown under the path as it is typed)."""
    file = Path(path.strip()).expanduser()
    if not path.strip():
        raise InputError("file", "give the path of a TOML file")
    try:
        return file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("file", f"cannot read {str(file)!r}: {getattr(exc, 'strerror', None) or exc}") from None


def org_policy_text(doc) -> Content:
    if doc is None:
        return tones.toned("None applied. Press o to load an org policy TOML file, review its violations, then apply "
                           "it.", tones.MUTED)
    lines = [Content.assemble(tones.toned(doc.name, tones.STRONG), (f"  sha256 {doc.digest[:12]}", tones.MUTED))]
    lines += [Content(f"  {env.label:<12}{describe_rules(rules)}") for env, rules in doc.environments.items()]
    return Content("\n").join(lines)


def describe_rules(rules: EnvRules) -> str:
    parts = []
    if rules.max_expiry_days:
        parts.append(f"expiry at most {rules.max_expiry_days} days")
    if rules.require_ip_restriction:
        parts.append("IP restriction required")
    if rules.forbidden_permissions:
        parts.append("no " + "/".join(sorted(p.value for p in rules.forbidden_permissions)))
    if rules.allowed_scopes is not None:
        parts.append("scopes " + ", ".join(sorted(s.value for s in rules.allowed_scopes)))
    if rules.default_expiry_days:
        parts.append(f"default expiry {rules.default_expiry_days} days")
    return "; ".join(parts) or "no rules"


def report_content(report, shown: int = REPORT_LINES) -> Content:
    """The violation report for the confirmation dialog (key names are user text: never markup)."""
    lines = [Content.assemble(f"Checked {report.checked} live keys: ", (f"{len(report.violations)}", tones.STRONG),
                              " violate this policy and will be flagged in the registry.")]
    for v in report.violations[:shown]:
        lines.append(tones.plain(f"  ⚑ {v.name} ({v.environment}, {v.key_id}): {'; '.join(v.reasons)}"))
    if len(report.violations) > shown:
        lines.append(Content(f"  … and {len(report.violations) - shown} more"))
    return Content("\n").join(lines)
