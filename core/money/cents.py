"""Money arithmetic in integer cents and basis points (rules: "Money")."""

#: Largest deal value accepted, in cents ($1,000,000; rules: "Bad input").
MAX_DEAL_CENTS = 100_000_000


def commission_cents(value_cents: int, rate_bps: int) -> int:
    """Return ``round_half_up(value_cents * rate_bps / 10000)`` using integers only.

    ``value_cents`` may be negative (an adjustment); rounding is half away from zero,
    so a reversal mirrors its original to the cent.
    """
    sign = -1 if value_cents < 0 else 1
    q, r = divmod(abs(value_cents) * rate_bps, 10_000)
    if r * 2 >= 10_000:
        q += 1
    return sign * q


def format_cents(cents: int, currency: str = "USD") -> str:
    """Format cents as ``$1,234.56`` (negative as ``-$1,234.56``) for people to read."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{sign}{symbol}{whole:,}.{frac:02d}"


def format_bps(bps: int) -> str:
    """Format basis points as a percentage: ``2000`` → ``20%``, ``2250`` → ``22.5%``."""
    whole, frac = divmod(int(bps), 100)
    return f"{whole}%" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0") + "%"


def parse_dollars(text: str) -> int:
    """Parse a person's dollar amount (``"1,500"``, ``"1500.5"``, ``"$20.00"``) into cents.

    Raises ``ValueError`` with a readable message for anything else, including more
    than two decimals, negatives, or an empty string. No floats are involved.
    """
    s = (text or "").strip().replace(",", "").replace("$", "")
    if not s:
        raise ValueError("Enter an amount in dollars, for example 1500 or 1500.00.")
    whole, _, frac = s.partition(".")
    if not whole:
        whole = "0"
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 2:
        raise ValueError("Enter an amount in dollars, for example 1500 or 1500.00.")
    return int(whole) * 100 + int(frac.ljust(2, "0") or 0)
