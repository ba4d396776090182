"""WTForms for the portal pages (Flask-WTF adds CSRF to each)."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from core.community.playbooks import INDUSTRIES, KINDS
from core.program.models import LEAD_STAGES

#: A money input: the phone's number pad with a decimal point, no autofill.
MONEY = {"inputmode": "decimal", "autocomplete": "off"}


class RegisterForm(FlaskForm):
    """Partner application (rules: "Registration": register with agreement acceptance)."""

    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=254)])
    company_name = StringField("Company (optional)", validators=[Optional(), Length(max=200)])
    password = PasswordField("Password (10+ characters)",
                             validators=[DataRequired(), Length(min=10, max=200)])
    referral_code = StringField("Referral code (optional)", validators=[Optional(), Length(max=20)])
    experience_level = SelectField("Your sales experience", validate_choice=False, choices=[
        SelectChoice("", "Choose…"), SelectChoice("beginner", "Beginner: new to selling"),
        SelectChoice("intermediate", "Intermediate: I have sold before"),
        SelectChoice("advanced", "Advanced: selling is my trade")])
    goal_deals = StringField("Monthly goal: deals (optional)", validators=[Length(max=12)],
                             render_kw={"inputmode": "numeric"})
    goal_revenue = StringField("Monthly goal: revenue in $ (optional)",
                               validators=[Length(max=20)], render_kw={"inputmode": "decimal"})
    accept_terms = BooleanField("I accept the partner agreement and commission terms",
                                validators=[DataRequired("You must accept the agreement.")])


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in on this device")


class OtpForm(FlaskForm):
    """The 6-digit code of an authenticator app (staff two-factor)."""

    code = StringField("6-digit code", validators=[DataRequired(), Length(max=12)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class PasswordChangeForm(FlaskForm):
    """Current password, then the new one twice (the rules are in core.accounts.users)."""

    current_password = PasswordField("Current password",
                                     validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField("New password (10+ characters, not a common one)",
                                 validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new_password", "The two new passwords differ.")])


class ForgotPasswordForm(FlaskForm):
    """The e-mail address of the account whose password was forgotten."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    """The new password twice (the rules are in core.accounts.users)."""

    new_password = PasswordField("New password (10+ characters, not a common one)",
                                 validators=[DataRequired(), Length(max=200)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new_password", "The two new passwords differ.")],
        render_kw={"autocomplete": "new-password"})


class LeadForm(FlaskForm):
    """A new lead (lead fields; value in dollars)."""

    company_name = StringField("Company", validators=[DataRequired(), Length(max=200)])
    contact_name = StringField("Contact name", validators=[Optional(), Length(max=120)])
    contact_email = EmailField("Contact e-mail", validators=[Optional(), Email(), Length(max=254)])
    contact_phone = TelField("Contact phone", validators=[Optional(), Length(max=40)])
    project_type = StringField("Project type", validators=[Optional(), Length(max=80)])
    estimated_value = StringField("Estimated value ($)", validators=[Optional(), Length(max=20)],
                                  render_kw=MONEY)
    #: Made on the device (static/js/leads-queue.js) so a resend is one lead, not two.
    client_ref = HiddenField(validators=[Optional(), Length(max=64)])


class MoveForm(FlaskForm):
    """Move a lead; a won lead needs the deal value in dollars."""

    status = SelectField("Stage", choices=[SelectChoice(s, s.capitalize()) for s in LEAD_STAGES])
    deal_value = StringField("Deal value ($, for won)", validators=[Optional(), Length(max=20)],
                             render_kw=MONEY)


class SaleForm(FlaskForm):
    """Quick "log sale": one of the partner's open leads and the deal value in dollars."""

    lead_id = SelectField("Lead", validate_choice=False)
    deal_value = StringField("Deal value ($)", validators=[DataRequired(), Length(max=20)],
                             render_kw=MONEY)


class ActivityForm(FlaskForm):
    """Log a call, e-mail, meeting or note."""

    activity_type = SelectField("Type", choices=[SelectChoice("call", "Call"),
                                                 SelectChoice("email", "E-mail"),
                                                 SelectChoice("meeting", "Meeting"),
                                                 SelectChoice("note", "Note")])
    notes = TextAreaField("Notes", validators=[DataRequired(), Length(max=5000)])


class MessageForm(FlaskForm):
    """A chat message (works without JavaScript too)."""

    body = TextAreaField("Message", validators=[DataRequired(), Length(max=2000)])


class ProfileForm(FlaskForm):
    """The partner's own profile (limits are ``core.program.profile.TEXT_LIMITS``; the time zone
    choices are filled in by the view)."""

    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    company_name = StringField("Company", validators=[Optional(), Length(max=200)])
    phone = TelField("Phone", validators=[Optional(), Length(max=40)],
                     render_kw={"autocomplete": "tel"})
    industry = StringField("Industry you sell to", validators=[Optional(), Length(max=80)])
    timezone = SelectField("Time zone", validate_choice=False)
    notify_email = BooleanField("E-mail me about commissions, payouts, tier changes and "
                                "ticket replies")
    notify_portal = BooleanField("Show notifications in the portal")


class GoalsForm(FlaskForm):
    """Experience level and monthly goal on the profile (rules: "Goals"); checked by
    ``core.engagement.goals.goals_from_form``."""

    experience_level = RegisterForm.experience_level
    goal_deals = RegisterForm.goal_deals
    goal_revenue = RegisterForm.goal_revenue


class InviteForm(FlaskForm):
    """Addresses to invite to one's team, one a line or separated by commas."""

    emails = TextAreaField("E-mail addresses (up to 20, one a line)",
                           validators=[DataRequired(), Length(max=6000)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token (logout, payout request)."""


class PlaybookForm(FlaskForm):
    """A playbook a partner shares ("share what works"); the limits and the industry list
    are ``core.community.playbooks``'s, which checks them again."""

    title = StringField("Title", validators=[DataRequired(), Length(min=5, max=120)],
                        render_kw={"maxlength": 120})
    industry = SelectField("Industry", choices=[SelectChoice(i, i) for i in INDUSTRIES])
    kind = SelectField("Kind", choices=[SelectChoice(k, label) for k, label in KINDS.items()])
    body = TextAreaField("The script or playbook (Markdown: ## headings, - lists, **bold**)",
                         validators=[DataRequired(), Length(min=50, max=20000)],
                         render_kw={"rows": 14, "maxlength": 20000})
