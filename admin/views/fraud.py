"""The fraud review queue and the fraud rules' switches (rules: "Fraud rules")."""

import json

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from admin.views.base import StaffView, refuse, run_domain, staff_with
from core.program import fraud


class FraudQueueView(StaffView):
    """Open flags with their evidence; an admin dismisses or rejects with a reason
    (finance reads the queue)."""

    roles = ("finance",)

    @expose("/")
    def index(self):
        flags = fraud.open_flags(200)
        return self.render("admin/fraud_queue.html", flags=flags,
                           evidence={f.id: json.loads(f.evidence or "{}") for f in flags},
                           can_decide=staff_with("admin"), labels=fraud.RULES)

    @expose("/<int:flag_id>/decide", methods=["POST"])
    def decide(self, flag_id: int):
        if not staff_with("admin"):
            return refuse()
        decision = request.form.get("decision", "")
        if decision not in ("dismiss", "reject"):
            abort(400)
        if run_domain(lambda: fraud.decide(flag_id, decision, request.form.get("reason", ""),
                                           current_user.id)) is not None:
            flash("Flag dismissed: the lead may be confirmed." if decision == "dismiss"
                  else "Lead rejected; the partner sees your reason.", "success")
        return redirect(url_for("fraud.index"))


class FraudRulesView(StaffView):
    """Each rule's switch and threshold (admin); every change audited."""

    roles = ("admin",)

    @expose("/", methods=["GET", "POST"])
    def index(self):
        status = 200
        if request.method == "POST":
            current = fraud.rule_settings()
            for rule in fraud.RULES:
                enabled = request.form.get(f"{rule}_enabled") == "on"
                raw = (request.form.get(f"{rule}_threshold") or "").strip()
                threshold = int(raw) if raw.isdigit() and len(raw) < 7 else raw or None
                if fraud.RULES[rule][1] is None:
                    threshold = 0
                if current[rule] == {"enabled": enabled, "threshold": threshold}:
                    continue
                if run_domain(lambda rule=rule, enabled=enabled, threshold=threshold:
                              fraud.set_rule(rule, enabled, threshold, current_user.id)) is None:
                    status = 422
            if status == 200:
                flash("Fraud rules saved.", "success")
                return redirect(url_for("fraud_rules.index"))
        return self.render("admin/fraud_rules.html", rules=fraud.RULES,
                           settings=fraud.rule_settings()), status


def register_fraud_views(admin) -> None:
    """Add the review queue (Pipeline menu) and the rules (Program menu)."""
    admin.add_view(FraudQueueView(name="Fraud review", endpoint="fraud", url="fraud",
                                  category="Pipeline"))
    admin.add_view(FraudRulesView(name="Fraud rules", endpoint="fraud_rules",
                                  url="fraud-rules", category="Program"))
