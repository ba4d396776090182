"""Training quizzes and challenges (PRD "Training", "Leaderboard & Competitions")."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.timeutil import UTCDateTime, now_utc


class QuizQuestion(db.Model):
    """A multiple-choice question of a training module's quiz."""

    __tablename__ = "quiz_questions"
    __table_args__ = (Index("ix_quiz_questions_module_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("training_modules.id"))
    prompt: Mapped[str] = mapped_column(String(500))
    #: Choices, one per line.
    choices: Mapped[str] = mapped_column(Text)
    #: Index (0-based) of the right choice.
    correct_index: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)

    module = relationship("TrainingModule")

    @property
    def choice_list(self) -> list[str]:
        """The choices as a list."""
        return [c for c in self.choices.splitlines() if c.strip()]


class Challenge(db.Model):
    """A competition: reach ``target`` deals (or revenue in cents) in a window, win a prize."""

    __tablename__ = "challenges"
    __table_args__ = (CheckConstraint("target > 0", name="target"),
                      CheckConstraint("prize_cents >= 0", name="prize"),
                      CheckConstraint("ends_at > starts_at", name="window"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500), default="")
    #: deals | revenue
    metric: Mapped[str] = mapped_column(String(10))
    #: Deals, or revenue in cents.
    target: Mapped[int]
    prize_cents: Mapped[int]
    starts_at: Mapped[object] = mapped_column(UTCDateTime)
    ends_at: Mapped[object] = mapped_column(UTCDateTime)
    awarded_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=now_utc)

    created_by = relationship("User")
