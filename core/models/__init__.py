"""ORM models, split by aggregate (STYLE.md "Data"). Import from here."""

from core.models.achievement import Achievement
from core.models.assets import Asset
from core.models.audit import AuditLog
from core.models.chat import (
                              Attachment,
                              Channel,
                              ChannelMember,
                              ChatMute,
                              Mention,
                              Message,
                              Reaction,
)
from core.models.documents import (
                              DocumentTemplate,
                              MaterialRender,
                              PartnerBranding,
                              StatementBatch,
                              StatementBatchItem,
)
from core.models.lead import Deal, Lead, LeadActivity
from core.models.ledger import Commission, Payout, PayoutTransfer, Statement, StripeEvent
from core.models.notification import Notification
from core.models.partner import (
                              Partner,
                              Setting,
                              Tier,
                              TierOverride,
                              TrainingCompletion,
                              TrainingModule,
)
from core.models.playbook import Playbook, PlaybookUpvote
from core.models.program import Challenge, QuizQuestion
from core.models.referral import ReferralClick
from core.models.support import SupportTicket, TicketMessage
from core.models.user import ApiToken, User

__all__ = [
    "Achievement", "Asset",
    "Challenge", "QuizQuestion", "ReferralClick", "SupportTicket", "TicketMessage",
    "DocumentTemplate", "MaterialRender", "PartnerBranding", "StatementBatch", "StatementBatchItem",
    "ApiToken", "Attachment", "AuditLog", "Channel", "ChannelMember", "ChatMute", "Commission", "Deal", "Lead", "LeadActivity",
    "Mention", "Message", "Notification", "Partner", "Payout", "PayoutTransfer", "Playbook", "PlaybookUpvote",
    "Reaction", "Setting",
    "Statement", "StripeEvent", "Tier", "TierOverride", "TrainingCompletion", "TrainingModule", "User",
]
