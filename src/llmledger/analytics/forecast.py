"""Month-end spend forecasts: linear trend on the daily series with a day-of-week shape, and a range.

Deliberately simple and explainable (finance has to trust it): each weekday's factor is its mean over the
overall mean (when two weeks or more are known), the trend is a least-squares line through the de-seasonalised
days, and the range widens with the residuals' spread and the days left.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

__all__ = ["Forecast", "forecast_month", "month_bounds"]

_Z90 = 1.645  # a 90 % range


@dataclass(frozen=True)
class Forecast:
    month: str  # YYYY-MM
    to_date: Decimal  # spent so far this month (through `today`, exclusive)
    projected: Decimal  # to_date + the projected rest of the month
    low: Decimal
    high: Decimal
    days_known: int  # days of history used
    exhaustion: date | None = None  # when the projection passes `budget`, if it does this month
    rest: tuple[tuple[date, Decimal], ...] = ()  # the projected spend of each day from `today` to the month's end
    spread: float = 0.0  # the daily misses' standard deviation, behind the range

    def path(self) -> list[tuple[date, Decimal, Decimal, Decimal]]:
        """Projected month-to-date spend at the end of each remaining day: (day, expected, low, high)."""
        out, running = [], self.to_date
        for i, (day, spend) in enumerate(self.rest, start=1):
            running += spend
            margin = money(_Z90 * self.spread * math.sqrt(i))
            out.append((day, running, max(self.to_date, running - margin), running + margin))
        return out


def month_bounds(month: str | None, now: datetime) -> tuple[datetime, datetime]:
    if month is None:
        start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        year, mon = (int(p) for p in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=UTC)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def forecast_month(daily: dict[date, Decimal], *, start: datetime, end: datetime, today: date,
                   budget: Decimal | None = None) -> Forecast:
    """`daily` holds the spend of each past day (missing days spent nothing); days from `today` on are projected."""
    history_days = sorted(d for d in daily if d < today)
    first = history_days[0] if history_days else today
    days = [first + timedelta(days=i) for i in range((today - first).days)]
    values = [float(daily.get(d, 0)) for d in days]
    factors = _weekday_factors(days, values)
    flat = [v / factors[d.weekday()] for d, v in zip(days, values, strict=True)]
    slope, intercept = _line(flat)
    # the range comes from how far the fitted model (trend × weekday factor) missed the known days
    misses = [v - (intercept + slope * i) * factors[d.weekday()] for i, (d, v) in enumerate(zip(days, values,
                                                                                                strict=True))]
    spread = statistics.pstdev(misses) if len(misses) > 1 else 0.0
    to_date = sum((v for d, v in daily.items() if start.date() <= d < today), Decimal(0))
    rest = []
    day = max(today, start.date())
    while day < end.date():
        x = (day - first).days
        rest.append((day, max(0.0, (intercept + slope * x) * factors[day.weekday()])))
        day += timedelta(days=1)
    projected_rest = sum(v for _, v in rest)
    margin = _Z90 * spread * math.sqrt(len(rest)) if rest else 0.0
    exhaustion = None
    if budget is not None:
        running = float(to_date)
        if running > float(budget):
            exhaustion = today
        for day, v in rest:
            running += v
            if exhaustion is None and running > float(budget):
                exhaustion = day
    return Forecast(start.strftime("%Y-%m"), to_date, to_date + money(projected_rest),
                    to_date + money(max(0.0, projected_rest - margin)), to_date + money(projected_rest + margin),
                    len(days), exhaustion, tuple((day, money(v)) for day, v in rest), spread)


def money(value: float) -> Decimal:
    return Decimal(str(round(value, 6)))


def _weekday_factors(days: list[date], values: list[float]) -> list[float]:
    if len(days) < 14 or not any(values):
        return [1.0] * 7
    overall = statistics.fmean(values)
    by_day: list[list[float]] = [[] for _ in range(7)]
    for d, v in zip(days, values, strict=True):
        by_day[d.weekday()].append(v)
    return [max(0.05, statistics.fmean(vs) / overall) if vs and overall else 1.0 for vs in by_day]


def _line(values: list[float]) -> tuple[float, float]:
    """Least-squares slope and intercept."""
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    if n == 1:
        return 0.0, values[0]
    xs = range(n)
    mean_x, mean_y = (n - 1) / 2, statistics.fmean(values)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True)) / sxx
    return slope, mean_y - slope * mean_x
