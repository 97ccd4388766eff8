#!/usr/bin/env python3
"""The independent calendar banso's calendar tests and `banso bench calendar` compare with: the PyPI packages
`holidays` (Việt Nam's public holidays, country VN) and `lunar-vn` (Hồ Ngọc Đức's Vietnamese lunar calendar at
UTC+7, a different and simpler astronomy than banso's).

  calendar_oracle.py holidays FROM TO    {"YYYY-MM-DD": "name", ...} of `holidays` for the years FROM..TO
  calendar_oracle.py lunar FROM TO       the first day of every lunar month beginning in the Gregorian years
                                         FROM..TO, by lunar-vn: [["YYYY-MM-DD", year, month, leap], ...]
  calendar_oracle.py due FILE            the due dates of the receipts in FILE (one "RFC3339 N HH:MM" a line),
                                         counted as banso counts them but over `holidays`' days off; prints
                                         {"ms": total, "dues": [...]}, the timer around the computations only
"""
import datetime as dt
import json
import sys
import time

import holidays
import lunar_vn

VIET_NAM = dt.timezone(dt.timedelta(hours=7))


def cmd_holidays(first, last):
    days = holidays.country_holidays("VN", years=range(first, last + 1))
    print(json.dumps({d.isoformat(): name for d, name in sorted(days.items())}, ensure_ascii=False))


def cmd_lunar(first, last):
    months = []
    day = dt.date(first, 1, 1)
    end = dt.date(last, 12, 31)
    while day <= end:
        lunar = lunar_vn.solar_to_lunar(day)
        if lunar.day == 1:
            months.append([day.isoformat(), lunar.year, lunar.month, lunar.leap])
        day += dt.timedelta(days=1)
    print(json.dumps(months))


def cmd_due(path):
    receipts = []
    with open(path) as f:
        for line in f:
            stamp, n, cutoff = line.split()
            hour, minute = cutoff.split(":")
            receipts.append((dt.datetime.fromisoformat(stamp), int(n), dt.time(int(hour), int(minute))))
    start = time.perf_counter()
    # Years are filled in as the computations meet them, inside the timer (as banso builds its years).
    days_off = holidays.country_holidays("VN")

    def working(day):
        return day.weekday() < 5 and day not in days_off

    def next_working(day):
        day += dt.timedelta(days=1)
        while not working(day):
            day += dt.timedelta(days=1)
        return day

    dues = []
    for received, n, cutoff in receipts:
        local = received.astimezone(VIET_NAM)
        day = local.date()
        counted = day if working(day) and local.time() < cutoff else next_working(day)
        due = counted
        for _ in range(n):
            due = next_working(due)
        dues.append(due.isoformat())
    ms = (time.perf_counter() - start) * 1000.0
    print(json.dumps({"ms": ms, "dues": dues}))


def main():
    cmd = sys.argv[1]
    if cmd == "holidays":
        cmd_holidays(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "lunar":
        cmd_lunar(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "due":
        cmd_due(sys.argv[2])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
