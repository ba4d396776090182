"""Events: the event calendar (webinars, live training, Q&A), RSVPs with capacity and tier
checks, reminders before an event, attendance (which earns XP) and each partner's
iCalendar feed (rules: "Events")."""
