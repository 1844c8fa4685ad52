"""A calendar month of the display time zone: the period every monthly figure is computed over."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from govmatrix.errors import ConfigError


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2016-07`` -> Month(2016, 7); ConfigError for anything else."""
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
        if not match or not 1 <= int(match[2]) <= 12:
            raise ConfigError(f"--month: expected YYYY-MM, got {text!r}")
        if not 1900 <= int(match[1]) <= 2999:  # a month of this software's life; year 0 or 9999 break date sums
            raise ConfigError(f"--month: year out of range (1900-2999): {text!r}")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.next().first - timedelta(days=1)

    @property
    def days(self) -> int:
        return self.last.day

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) of the month as aware times in ``tz``."""
        return (datetime.combine(self.first, time(), tzinfo=tz),
                datetime.combine(self.next().first, time(), tzinfo=tz))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """``2016年7月``."""
        return f"{self.year}年{self.month}月"
