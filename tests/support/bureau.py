"""Structured credit reports (人行征信) for the tests: `report(summary, report_date)` writes accounts,
inquiries and public records whose figures, as the reference policy derives them, are exactly the
summary's. The applicant generator draws summaries and writes them out with it; rule tests and
examples were converted from their summaries with it.

A summary holds the figures the policy derives (all optional): credit_history_months,
overdue_current_amount, max_consecutive_overdue_24m, overdue_months_24m,
months_since_last_overdue, bad_debt, guarantor_repaid, frozen_or_written_off, worst_five_class,
hard_inquiries_1m/3m/6m, unsecured_debt_total, monthly_repayment, credit_card_utilisation,
lender_count, non_bank_accounts_opened_3m/6m, card_severe_overdue (a credit card 90+ days past
due), public_records_open. A None value leaves the data it comes from out, so that the derived
figure is missing too.
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

def _months_back(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)


def status_24m(consecutive: int, total: int, since: int | None, level: str = "1") -> str:
    """24 months, oldest first: a run of `consecutive` overdue months ending `since` months before
    the newest, and `total - consecutive` single overdue months before it."""
    months = ["N"] * 24
    if total == 0:
        return "".join(months)
    last = 23 - (since or 0)
    consecutive = max(consecutive, 1)  # an overdue month is a run of one at least
    runs = [consecutive] + [1] * (total - consecutive)
    position = last
    for run in runs:
        for offset in range(run):
            if position - offset < 0:
                raise ValueError(f"{consecutive}/{total} overdue months do not fit before {since}")
            months[position - offset] = level
        position -= run + 1
    return "".join(months)


def span(consecutive: int, total: int) -> int:
    """How many months `status_24m` needs for the overdue months, gaps included."""
    if total == 0:
        return 0
    consecutive = max(consecutive, 1)
    return consecutive + 2 * (total - consecutive)


def _get(summary: dict, key: str, default: Any = 0) -> Any:
    return summary.get(key, default)


def report(summary: dict, report_date: datetime.date, has_record: bool = True) -> dict:
    """The structured report for a summary (see the module docstring), as JSON-style data."""
    bureau: dict[str, Any] = {"has_record": has_record, "report_date": report_date.isoformat()}
    inquiries = _inquiries(summary, report_date)
    if inquiries is not None:
        bureau["inquiries"] = inquiries
    bureau["public_records"] = [
        {"type": "ENFORCEMENT", "date": (report_date - datetime.timedelta(days=200)).isoformat(),
         "amount": 8000, "status": "OPEN"}] * int(_get(summary, "public_records_open", 0) or 0)
    if not has_record:
        bureau["accounts"] = []
        return bureau
    accounts = []
    util = summary.get("credit_card_utilisation")
    debt = _get(summary, "unsecured_debt_total")
    history = _get(summary, "credit_history_months", 60)
    main: dict[str, Any] = {
        "type": "CREDIT_CARD" if util is not None else "LOAN", "lender": "B01",
        "lender_type": "BANK", "opened": _months_back(report_date, history).isoformat(),
        "state": "NORMAL", "five_class": "NORMAL"}
    card_balance = 0
    if util is not None:
        util = Decimal(str(util))
        limit = 10000
        while util * limit > (debt or 0) and limit > 100:
            limit //= 10
        card_balance = int(util * limit)
        main["credit_limit"] = limit
    lenders = summary.get("lender_count", 1)
    if lenders == 0:
        main["state"] = "SETTLED"
    loan_balance = None if debt is None else debt - card_balance
    if loan_balance is not None and loan_balance < 0:
        raise ValueError(f"utilisation {util} needs more unsecured debt than {debt}")
    main["balance"] = card_balance if util is not None else (loan_balance or 0)
    repayment = summary.get("monthly_repayment", 0)
    if repayment is not None:
        main["monthly_repayment"] = repayment
    overdue = summary.get("overdue_current_amount", 0)
    if overdue is not None:
        main["overdue_amount"] = overdue
    consecutive = summary.get("max_consecutive_overdue_24m", 0)
    total = summary.get("overdue_months_24m", 0)
    singles = 0
    if consecutive is not None and total is not None:
        since = summary.get("months_since_last_overdue")
        # the run (and the last overdue month) on the main account; single overdue months that
        # do not fit before it on settled accounts of the same lender, one each, long ago
        if total:
            run = max(consecutive, 1)
            fit = (23 - (since or 0) + 1 - run) // 2  # singles before the run, a gap each
            singles = max(0, total - run - fit)
        main["status_24m"] = status_24m(consecutive, total - singles, since if total else None)
    worst = summary.get("worst_five_class", "NORMAL")
    if worst is None:
        del main["five_class"]
    else:
        main["five_class"] = worst
    accounts.append(main)
    if util is not None and loan_balance:
        # the rest of the unsecured debt: a loan, of the same lender unless there are others
        accounts.append(_account("LOAN", "B01" if (lenders or 0) <= 1 else "B02", "BANK",
                                 _months_back(report_date, min(history, 12)), loan_balance))
    elif util is None and debt is None:
        del main["balance"]
    used = {"B01"} | ({"B02"} if util is not None and loan_balance and (lenders or 0) > 1 else set())
    for index in range(len(used) + 1, (lenders or 0) + 1):
        accounts.append(_account("LOAN", f"B{index:02d}", "BANK",
                                 _months_back(report_date, min(history, 12)), 0))
    for state, flag in (("BAD_DEBT", "bad_debt"), ("GUARANTOR_REPAID", "guarantor_repaid"),
                        ("FROZEN", "frozen_or_written_off")):
        value = summary.get(flag, False)
        if value:
            accounts.append(_account("LOAN", "B01", "BANK", _months_back(report_date,
                                                                         min(history, 12)),
                                     0, state=state))
    if any(summary.get(flag, False) is None
           for flag in ("bad_debt", "guarantor_repaid", "frozen_or_written_off")):
        unknown = _account("LOAN", "B01", "BANK", _months_back(report_date, min(history, 12)), 0)
        del unknown["state"]
        accounts.append(unknown)
    if summary.get("card_severe_overdue"):
        accounts.append(_account("CREDIT_CARD", "B01", "BANK",
                                 _months_back(report_date, min(history, 12)), 0,
                                 status=status_24m(1, 1, 20, level="3"), state="SETTLED"))
    for _ in range(singles):
        accounts.append(_account("LOAN", "B01", "BANK", _months_back(report_date, history), 0,
                                 state="SETTLED", status="1" + "N" * 23))
    n3 = summary.get("non_bank_accounts_opened_3m", 0) or 0
    n6 = summary.get("non_bank_accounts_opened_6m", 0) or 0
    for index in range(n6):
        days = 40 if index < n3 else 100
        accounts.append(_account("LOAN", f"N{index + 1:02d}", "NON_BANK",
                                 report_date - datetime.timedelta(days=days), 0, state="SETTLED"))
    bureau["accounts"] = accounts
    return bureau


def _account(kind: str, lender: str, lender_type: str, opened: datetime.date, balance: int,
             state: str = "NORMAL", status: str = "N" * 24) -> dict:
    account = {"type": kind, "lender": lender, "lender_type": lender_type,
               "opened": opened.isoformat(), "balance": balance, "monthly_repayment": 0,
               "overdue_amount": 0, "status_24m": status, "state": state, "five_class": "NORMAL"}
    if kind == "CREDIT_CARD":
        account["credit_limit"] = 0
    return account


def _inquiries(summary: dict, report_date: datetime.date) -> list | None:
    counts = [summary.get(f"hard_inquiries_{m}m", 0) for m in (1, 3, 6)]
    if any(c is None for c in counts):
        return None
    one, three, six = counts
    if not one <= three <= six:
        raise ValueError(f"inquiries {counts} are not cumulative")
    found = []
    for days, count in ((5, one), (40, three - one), (100, six - three)):
        found += [{"date": (report_date - datetime.timedelta(days=days)).isoformat(),
                   "reason": "LOAN_APPROVAL", "institution_type": "BANK"}] * count
    return found
