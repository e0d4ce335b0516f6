"""Colombian public holiday dates from the `holidays` package.

Not pure: the only module that imports `holidays`. Callers resolve the dates once (in an
activity or at ticket creation) and hand them to the pure calendar as data, so a newer
`holidays` release cannot change a running ticket's due instants on replay.
"""

from datetime import date, datetime
from functools import lru_cache

import holidays

from soporte.policy.calendar import BOGOTA, require_aware


def colombian_holidays(first_year: int, last_year: int) -> list[date]:
    """Every Colombian public holiday from first_year through last_year, sorted."""
    if last_year < first_year:
        raise ValueError(f"last_year {last_year} is before first_year {first_year}")
    return list(_holidays_of_years(first_year, last_year))


@lru_cache(maxsize=64)
def _holidays_of_years(first_year: int, last_year: int) -> tuple[date, ...]:
    # Computing a year of holidays costs milliseconds; every ticket opened needs them.
    years = range(first_year, last_year + 1)
    return tuple(sorted(holidays.country_holidays("CO", years=years)))


def holidays_around(start: datetime, years_after: int = 3) -> list[date]:
    """The holidays from start's year (in Bogota) through years_after years later."""
    require_aware(start)
    year = start.astimezone(BOGOTA).year
    return colombian_holidays(year, year + years_after)
