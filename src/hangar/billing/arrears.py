"""The arrears policy (spec 10 §2.4 B-E6, §5.6).

With an insufficient balance, data is kept and charges keep accruing. Once arrears *exceed*
the threshold (10 DCU), the platform may clean the data. Arrears beyond the threshold that
accrued because the platform did not clean in time are compensated with an extension-pack
voucher: the user bears at most the threshold. Examples: 5 DCU owed → the user bears 5, no
voucher; 20 DCU owed → the user bears 10 and may claim a 10 DCU voucher.
"""

from __future__ import annotations

from dataclasses import dataclass

from hangar.billing.money import (
    Amount,
    max_amount,
    min_amount,
    require_compute_unit,
    require_non_negative,
    require_unit,
)


@dataclass(frozen=True, slots=True)
class ArrearsAssessment:
    """What the policy says about an amount owed."""

    owed: Amount
    threshold: Amount
    user_bears: Amount
    voucher: Amount
    cleanup_allowed: bool
    keep_data: bool = True
    keep_accruing: bool = True


def assess_arrears(*, owed: Amount, threshold: Amount) -> ArrearsAssessment:
    """Apply B-E6 to ``owed``: cleanup only strictly above ``threshold``; the part above it is
    the voucher due (claimable only if the platform did not clean in time)."""
    require_compute_unit(owed, field="owed")
    require_non_negative(owed, field="owed")
    require_compute_unit(threshold, field="threshold")
    require_non_negative(threshold, field="threshold")
    require_unit(threshold, owed.unit, field="threshold")
    voucher = max_amount(owed - threshold, Amount.zero(owed.unit))
    return ArrearsAssessment(
        owed=owed,
        threshold=threshold,
        user_bears=min_amount(owed, threshold),
        voucher=voucher,
        cleanup_allowed=owed > threshold,
    )
