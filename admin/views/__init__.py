"""Back-office views, one module per area."""

from core.base.extensions import db


def register_views(admin) -> None:
    """Add every view to the ``Admin`` instance."""
    from admin.views.content import QuizView, TrainingView
    from admin.views.jobs import JobsView
    from admin.views.ledger import (
        AuditLogView,
        CommissionView,
        ExportView,
        PayoutView,
        StatementView,
    )
    from admin.views.partners import (
        DealView,
        LeadView,
        PartnerLookupView,
        PartnerView,
        ToConfirmView,
    )
    from admin.views.payments import TaxFormView
    from admin.views.program import SettingsView, TierView
    from admin.views.staff import ReauthView, StaffView
    from admin.views.support import ChallengeView, TicketView
    from core.accounts.models import User
    from core.base.models import AuditLog
    from core.community.models import Challenge
    from core.content.models import QuizQuestion, TrainingModule
    from core.money.models import Commission, Deal, Payout, Statement
    from core.payments.models import TaxForm
    from core.program.models import Lead, Partner, Tier
    from core.support.models import SupportTicket

    admin.add_view(PartnerView(Partner, db, name="Partners", endpoint="partners"))
    admin.add_view(LeadView(Lead, db, name="Leads", endpoint="leads", category="Pipeline"))
    admin.add_view(ToConfirmView(name="To confirm", endpoint="to_confirm", url="to-confirm",
                                 category="Pipeline"))
    admin.add_view(DealView(Deal, db, name="Deals", endpoint="deals", category="Pipeline"))
    admin.add_view(CommissionView(Commission, db, name="Commissions", endpoint="commissions",
                                  category="Money"))
    admin.add_view(PayoutView(Payout, db, name="Payouts", endpoint="payouts", category="Money"))
    admin.add_view(TaxFormView(TaxForm, db, name="Tax forms", endpoint="tax_forms",
                               category="Money"))
    admin.add_view(StatementView(Statement, db, name="Statements", endpoint="statements",
                                 category="Money"))
    admin.add_view(ExportView(name="CSV exports", endpoint="exports", url="exports",
                              category="Money"))
    admin.add_view(TicketView(SupportTicket, db, name="Support tickets", endpoint="tickets"))
    admin.add_view(TrainingView(TrainingModule, db, name="Training", endpoint="training",
                                category="Content"))
    admin.add_view(QuizView(QuizQuestion, db, name="Quiz questions", endpoint="quiz",
                            category="Content"))
    admin.add_view(ChallengeView(Challenge, db, name="Challenges", endpoint="challenges",
                                 category="Program"))
    from admin.views.materials import register_document_views

    register_document_views(admin)
    from admin.views.resources import register_resource_views

    register_resource_views(admin)
    from admin.views.playbooks import register_playbook_views

    register_playbook_views(admin)
    from admin.views.links import register_link_views

    register_link_views(admin)
    from admin.views.engagement import register_engagement_views

    register_engagement_views(admin)
    from admin.views.spotlight import BonusPoolView, LearningPathView, SpotlightView
    from core.content.models import LearningPath
    from core.engagement.models import BonusPool

    admin.add_view(SpotlightView(name="Partner of the month", endpoint="spotlight",
                                 url="spotlight", category="Program"))
    admin.add_view(BonusPoolView(BonusPool, db, name="Bonus pools", endpoint="bonus_pools",
                                 url="bonus-pools", category="Program"))
    admin.add_view(LearningPathView(LearningPath, db, name="Learning paths",
                                    endpoint="learning_paths", url="learning-paths",
                                    category="Content"))
    admin.add_view(TierView(Tier, db, name="Tiers", endpoint="tiers", category="Program"))
    admin.add_view(SettingsView(name="Payout settings", endpoint="settings", url="settings",
                                category="Program"))
    admin.add_view(StaffView(User, db, name="Staff", endpoint="staff", category="Program"))
    admin.add_view(JobsView(name="Jobs", endpoint="jobs", url="jobs", category="Program"))
    from admin.views.chat import AnnouncementView, ChannelView, ModerationView
    from core.community.models import Channel

    admin.add_view(ChannelView(Channel, db, name="Channels", endpoint="chat_channels",
                               url="chat/channels", category="Chat"))
    admin.add_view(ModerationView(name="Moderation", endpoint="chat_moderation",
                                  url="chat/moderation", category="Chat"))
    admin.add_view(AnnouncementView(name="Announcements", endpoint="chat_announcements",
                                    url="chat/announcements", category="Chat"))
    admin.add_view(AuditLogView(AuditLog, db, name="Audit log", endpoint="audit"))
    from admin.views.webhooks import WebhookDeliveryView, WebhookEndpointView
    from core.webhooks.models import WebhookDelivery, WebhookEndpoint

    admin.add_view(WebhookEndpointView(WebhookEndpoint, db, name="Webhook endpoints",
                                       endpoint="webhook-endpoints", url="webhook-endpoints",
                                       category="Integrations"))
    admin.add_view(WebhookDeliveryView(WebhookDelivery, db, name="Webhook deliveries",
                                       endpoint="webhook-deliveries", url="webhook-deliveries",
                                       category="Integrations"))
    from admin.views.events import register_event_views

    register_event_views(admin)
    admin.add_view(PartnerLookupView(name="Partner lookup", endpoint="partner_lookup",
                                     url="partner-lookup"))
    admin.add_view(ReauthView(name="Confirm password", endpoint="reauth", url="reauth"))
