"""Chat in the back office (rules: "Chat"): channels and announcements for the
content role, moderation (delete, mute, unmute) for the support role; admin has both.
Thin: each screen parses its form and calls one function of ``core.community.moderation``, which
checks the role again, audits and broadcasts after the commit."""

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from admin.views.base import StaffModelView, StaffView, refuse, run_domain, staff_with
from core.base.errors import DomainError
from core.base.extensions import db
from core.community import moderation
from core.community.models import MAX_MESSAGE_CHARS, Channel


class ChannelForm(FlaskForm):
    name = StringField("Name (shown as #name)", validators=[DataRequired(), Length(max=80)])
    slug = StringField("Slug (URL: lower-case letters, digits, hyphens)",
                       validators=[DataRequired(), Length(min=2, max=60)])
    topic = StringField("Topic", validators=[Length(max=200)])
    min_tier_key = SelectField("Who can read it (tier and up)", choices=[])
    read_only = BooleanField("Read-only (only staff post, like #announcements)")
    position = IntegerField("Position in the list (empty: last)",
                            validators=[Optional(), NumberRange(0, 10_000)])


class ChannelEditForm(ChannelForm):
    slug = None  # the slug never changes (links and notifications point at it)


class ChannelView(StaffModelView):
    """Public channels: list, create, edit tier requirement, read-only flag and topic.
    Team and direct channels are made by the system and not listed."""

    roles = ("content",)
    can_create = True
    can_edit = True
    column_list = ("position", "name", "slug", "topic", "min_tier_key", "read_only")
    column_labels = {"min_tier_key": "Tier needed", "read_only": "Read-only"}
    column_searchable_list = ("name", "slug")
    column_default_sort = "position"
    column_details_list = ("id", "slug", "name", "topic", "min_tier_key", "read_only",
                           "position", "created_at")

    def get_query(self):
        return super().get_query().filter(Channel.kind == "public")

    def get_count_query(self):
        return super().get_count_query().filter(Channel.kind == "public")

    def get_one(self, id):
        row = super().get_one(id)
        return row if row is not None and row.kind == "public" else None

    def _choices(self, form):
        form.min_tier_key.choices = [SelectChoice(k, n) for k, n in moderation.tier_choices()]
        return form

    def create_form(self, obj=None):
        return self._choices(ChannelForm())

    def edit_form(self, obj=None):
        return self._choices(ChannelEditForm(obj=obj))

    # The whole view is content-only (``roles``); core checks the role once more.
    def create_model(self, form):
        return run_domain(lambda: moderation.create_channel(
            current_user, form.slug.data, form.name.data, form.topic.data or "",
            form.min_tier_key.data, form.read_only.data, form.position.data)) or False

    def update_model(self, form, model):
        return run_domain(lambda: moderation.update_channel(
            current_user, model.id, name=form.name.data, topic=form.topic.data or "",
            min_tier_key=form.min_tier_key.data, read_only=form.read_only.data,
            position=form.position.data)) is not None


class MuteForm(FlaskForm):
    email = StringField("Partner's e-mail", validators=[DataRequired(), Email(),
                                                        Length(max=255)])
    minutes = SelectField("For", coerce=int, choices=[SelectChoice(m, label)
                                                      for m, label in moderation.MUTE_CHOICES])
    reason = StringField("Reason (shown to the partner)",
                         validators=[DataRequired(), Length(min=3, max=500)])


class ModerationView(StaffView):
    """Recent messages with search, delete; mutes in force with unmute; the mute form."""

    roles = ("support",)

    @expose("/")
    def index(self):
        query = request.args.get("q", "")[:200]
        channel_id = request.args.get("channel", type=int)
        page = max(0, request.args.get("page", 0, type=int) or 0)
        try:
            rows, more = moderation.recent_messages(current_user, query, channel_id, page)
        except DomainError as exc:
            flash(exc.message, "error")
            rows, more = [], False
        return self.render("admin/chat_moderation.html", rows=rows, more=more, page=page,
                           q=query, channel_id=channel_id,
                           channels=moderation.moderated_channel_choices(),
                           mutes=moderation.active_mutes(current_user), form=FlaskForm())

    @expose("/delete/<int:message_id>", methods=["POST"])
    def delete(self, message_id: int):
        if not staff_with("support"):
            return refuse()
        if not FlaskForm().validate_on_submit():
            flash("That delete was not accepted; reload the page.", "error")
        else:
            run_domain(lambda: moderation.delete_message(current_user, message_id),
                       "Message deleted; everyone sees it as deleted.")
        return redirect(request.form.get("next") if _local(request.form.get("next"))
                        else url_for(".index"))

    @expose("/mute", methods=["GET", "POST"])
    def mute(self):
        if not staff_with("support"):
            return refuse()
        form = MuteForm()
        if request.method == "GET" and request.args.get("user_id", type=int):
            from core.accounts.models import User

            user = db.session.get(User, request.args.get("user_id", type=int))
            if user is not None and not user.is_staff:
                form.email.data = user.email
        if form.validate_on_submit():
            def do():
                user = moderation.partner_user_by_email(form.email.data)
                return moderation.mute(current_user, user.id, form.minutes.data,
                                       form.reason.data)

            row = run_domain(do)
            if row is not None:
                flash(f"{row.user.name} is muted in chat until "
                      f"{row.until.strftime('%Y-%m-%d %H:%M')} UTC.", "success")
                return redirect(url_for(".index"))
        return self.render("admin/simple_form.html", form=form, title="Mute a partner in chat",
                           submit="Mute"), 422 if form.is_submitted() else 200

    @expose("/unmute/<int:mute_id>", methods=["POST"])
    def unmute(self, mute_id: int):
        if not staff_with("support"):
            return refuse()
        if not FlaskForm().validate_on_submit():
            flash("That unmute was not accepted; reload the page.", "error")
        else:
            row = run_domain(lambda: moderation.unmute(current_user, mute_id))
            if row is not None:
                flash(f"{row.user.name} can post in chat again.", "success")
        return redirect(url_for(".index"))


def _local(target) -> bool:
    return isinstance(target, str) and target.startswith("/admin/") and "//" not in target \
        and "\\" not in target


class AnnouncementForm(FlaskForm):
    body = TextAreaField("Announcement (Markdown: **bold**, *italics*, links)",
                         validators=[DataRequired(), Length(max=MAX_MESSAGE_CHARS)])


class AnnouncementView(StaffView):
    """Post to #announcements as oneself; partners connected see it at once."""

    roles = ("content",)

    @expose("/", methods=["GET", "POST"])
    def index(self):
        if not staff_with("content"):
            return refuse()
        form = AnnouncementForm()
        if form.validate_on_submit():
            if run_domain(lambda: moderation.announce(current_user, form.body.data),
                          "Announcement posted to #announcements.") is not None:
                return redirect(url_for(".index"))
        return self.render("admin/chat_announce.html", form=form,
                           recent=moderation.recent_announcements()), \
            422 if form.is_submitted() else 200
